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
    args = "generate --prompt portrait --steps 3 --size 64 --models tiny".split()
    result = run_cli(*args, "--out", str(out))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["models"] == "tiny" and set(report["timings"]) >= {"encode_s", "denoise_s", "decode_s"}
    assert Image.open(out).size == (64, 64)


def test_generate_explains_bad_input(tmp_path):
    result = run_cli("generate", "--prompt", "x", "--out", str(tmp_path / "o.png"), "--size", "60")
    assert result.returncode == 2 and "multiples of 8" in result.stderr


def test_generate_with_a_face_runs_both_stages_and_writes_metadata(tmp_path):
    out = tmp_path / "portrait.png"
    args = "generate --face astronaut --steps 3 --detailing-steps 3 --size 64 --models tiny".split()
    result = run_cli(*args, "--prompt", "portrait of a woman img, oil painting", "--out", str(out))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["status"] == "succeeded" and set(report["timings"]) >= {"base_s", "detailing_s"}
    # The tiny preset paints textures: stage 2 looks for a face, finds none, and says so.
    assert report["notes"] == ["no face found in the portrait: detailing skipped"]
    assert Image.open(out).size == (64, 64)
    metadata = json.loads(out.with_suffix(".json").read_text())
    assert metadata["prompt"] == "portrait of a woman img, oil painting" and metadata["seed"] == 1
    assert metadata["params"]["detailing_steps"] == 3 and metadata["status"] == "succeeded"


def test_generate_with_a_faceless_photo_explains(tmp_path):
    blank = tmp_path / "wall.png"
    Image.new("RGB", (200, 200), (120, 120, 120)).save(blank)
    args = "generate --prompt x --size 64 --steps 2 --detailing-steps 2".split()
    result = run_cli(*args, "--face", str(blank), "--out", str(tmp_path / "o.png"))
    assert result.returncode == 1
    assert "could not find a face" in json.loads(result.stdout.strip().splitlines()[-1])["error"]
    assert not (tmp_path / "o.png").exists()
