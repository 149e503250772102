import json
import subprocess
import sys

from PIL import Image


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "inference", *args], capture_output=True, text=True, timeout=300
    )


def test_generate_writes_an_image_and_prints_timings(tmp_path):
    out = tmp_path / "portrait.png"
    result = run_cli(
        "generate",
        "--prompt",
        "portrait of a person",
        "--out",
        str(out),
        "--steps",
        "3",
        "--size",
        "64",
        "--models",
        "tiny",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["models"] == "tiny" and set(report["timings"]) >= {"encode_s", "denoise_s", "decode_s"}
    assert Image.open(out).size == (64, 64)


def test_generate_explains_bad_input(tmp_path):
    result = run_cli("generate", "--prompt", "x", "--out", str(tmp_path / "o.png"), "--size", "60")
    assert result.returncode == 2 and "multiples of 8" in result.stderr
