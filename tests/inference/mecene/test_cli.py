import json

from inference.mecene.__main__ import main


def test_the_cli_prints_the_concept_offline(capsys):
    assert main(["corporate confidence", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "engine offline" in out and "prompt:   portrait of a person img, corporate confidence," in out
    for category in ("themes", "colors", "styles", "mediums", "subjects", "emotions", "time", "places"):
        assert f"{category}:" in out


def test_the_cli_json_is_the_whole_result(capsys):
    assert main(["Ethereal Beauty", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["words"] == "ethereal beauty" and len(result["chosen"]) == 15 and result["seed"] == 0


def test_bad_words_exit_2_with_the_reason(capsys):
    assert main(["a b c d e"]) == 2
    assert "at most 4 words" in capsys.readouterr().err


def test_the_cli_runs_offline_as_a_fresh_process(tmp_path):
    """As on a fresh clone: no LLM configured, the hub forbidden, a cache folder of its own."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("MECENE_LLM")}
    env |= {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "NARCIS_CACHE_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "inference.mecene", "corporate confidence", "--seed", "3", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["engine"] == "offline" and result["prompt"].startswith(
        "portrait of a person img, corporate"
    )
