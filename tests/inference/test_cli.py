import json
import subprocess
import sys

from PIL import Image

from inference.params import SPECS


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "inference", *args], capture_output=True, text=True, timeout=300
    )


def test_generate_writes_an_image_and_prints_timings(tmp_path):
    out = tmp_path / "portrait.png"
    args = "generate --prompt portrait --steps 3 --start-merge-step 1 --size 64 --models tiny".split()
    result = run_cli(*args, "--out", str(out))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["models"] == "tiny" and set(report["timings"]) >= {"encode_s", "denoise_s", "decode_s"}
    assert Image.open(out).size == (64, 64)


def test_generate_explains_bad_input(tmp_path):
    result = run_cli("generate", "--prompt", "x", "--out", str(tmp_path / "o.png"), "--size", "60")
    assert result.returncode == 2 and "width must be a multiple of 8" in result.stderr


def test_generate_with_a_face_runs_both_stages_and_writes_metadata(tmp_path):
    out = tmp_path / "portrait.png"
    args = "generate --face astronaut --steps 3 --start-merge-step 1 --detailing-steps 3 --size 64".split()
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
    args = "generate --prompt x --size 64 --steps 2 --start-merge-step 0 --detailing-steps 2".split()
    result = run_cli(*args, "--face", str(blank), "--out", str(tmp_path / "o.png"))
    assert result.returncode == 1
    assert "could not find a face" in json.loads(result.stdout.strip().splitlines()[-1])["error"]
    assert not (tmp_path / "o.png").exists()


def test_every_catalogue_parameter_is_a_flag_and_lands_in_the_metadata(tmp_path):
    out = tmp_path / "portrait.png"
    args = "generate --face astronaut --size 64 --steps 3 --start-merge-step 1 --detailing-steps 2".split()
    args += "--guidance-scale 7 --no-adaptive-guidance --detailing-padding 0.5 --seed 9".split()
    result = run_cli(*args, "--prompt", "a woman img", "--out", str(out))
    assert result.returncode == 0, result.stderr
    params = json.loads(out.with_suffix(".json").read_text())["params"]
    assert params["guidance_scale"] == 7.0 and params["adaptive_guidance"] is False
    assert params["detailing_padding"] == 0.5 and params["seed"] == 9
    assert params["unguided_fraction"] == 0.2  # unset flags: the tiny preset's defaults
    help_text = run_cli("generate", "--help").stdout
    assert all(f"--{name.replace('_', '-')}" in help_text for name in SPECS)


def test_a_cross_field_rule_is_explained_before_any_model_loads(tmp_path):
    result = run_cli("generate", "--prompt", "x", "--steps", "3", "--out", str(tmp_path / "o.png"))
    assert result.returncode == 2
    assert "start_merge_step must not exceed steps (3)" in result.stderr


COUNTED = """
import sys
from inference.__main__ import main
from inference.params import GenerationParams

calls = []
original = GenerationParams.model_validate.__func__
GenerationParams.model_validate = classmethod(lambda cls, *a, **k: calls.append(a) or original(cls, *a, **k))
code = main(sys.argv[1:])
print("validations", len(calls), file=sys.stderr)
sys.exit(code)
"""


def test_the_parameters_are_validated_once_from_the_flags_to_the_unet(tmp_path):
    """Flags over the models' defaults -> one GenerationParams -> both stages: no second validation."""
    args = "generate --face astronaut --size 64 --steps 3 --start-merge-step 1 --detailing-steps 2".split()
    args += ["--guidance-scale", "6", "--prompt", "a woman img", "--out", str(tmp_path / "o.png")]
    result = subprocess.run(
        [sys.executable, "-c", COUNTED, *args], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "validations 1\n" in result.stderr
    assert json.loads((tmp_path / "o.json").read_text())["params"]["guidance_scale"] == 6.0
