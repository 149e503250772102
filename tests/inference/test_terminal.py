"""Progress bars on a terminal, stage by stage; nothing on stderr when piped (stdout keeps the JSON)."""

import io
import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

from inference.terminal import StageBars

PROJECT = Path(__file__).resolve().parents[2]
GENERATE = [
    sys.executable, "-m", "inference", "generate", "--prompt", "a woman img, calm", "--face", "astronaut",
    "--size", "64", "--steps", "3", "--start-merge-step", "1", "--detailing-steps", "3",
]  # fmt: skip


def run_with_terminal_stderr(command: list[str]) -> tuple[bytes, str]:
    """(stdout, what a terminal on stderr showed): stderr is a pseudo-terminal, as in an interactive shell
    (one that reports no size, like many CI terminals: the bars must still draw)."""
    master, slave = pty.openpty()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=slave, cwd=PROJECT)
    os.close(slave)
    shown = []
    while select.select([master], [], [], 120)[0]:
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed its end
            break
        if not data:
            break
        shown.append(data)
    stdout = process.stdout.read()
    process.wait(60)
    os.close(master)
    return stdout, b"".join(shown).decode(errors="replace")


def test_generate_on_a_terminal_shows_each_stage_with_its_steps(tmp_path):
    stdout, terminal = run_with_terminal_stderr([*GENERATE, "--out", str(tmp_path / "p.png")])
    assert "loading models: 100%" in terminal
    assert "stage 1: 100%" in terminal and "3/3" in terminal
    assert json.loads(stdout)["status"] == "succeeded"  # stdout is still only the JSON


def test_generate_piped_writes_json_and_nothing_on_stderr(tmp_path):
    done = subprocess.run([*GENERATE, "--out", str(tmp_path / "p.png")], capture_output=True, cwd=PROJECT)
    assert done.returncode == 0 and done.stderr == b""
    assert json.loads(done.stdout)["status"] == "succeeded"


def test_mecene_on_a_terminal_shows_its_three_nodes_and_piped_only_json():
    command = [sys.executable, "-m", "inference.mecene", "corporate confidence", "--json"]
    stdout, terminal = run_with_terminal_stderr(command)
    assert "mecene: 100%" in terminal and "3/3" in terminal
    assert json.loads(stdout)["words"] == "corporate confidence"
    piped = subprocess.run(command, capture_output=True, cwd=PROJECT)
    assert piped.stderr == b"" and json.loads(piped.stdout)["words"] == "corporate confidence"


def test_bars_write_nothing_to_a_stream_that_is_not_a_terminal():
    stream = io.StringIO()
    with StageBars(stream) as bars:
        bars.step("base", 1, 3)
        bars.step("base", 3, 3)
    assert stream.getvalue() == ""
    shown = io.StringIO()
    with StageBars(shown, enabled=True) as bars:
        bars.step("base", 2, 4)
        bars.step("detailing", 1, 1)
    assert "stage 1:  50%" in shown.getvalue() and "detailing: 100%" in shown.getvalue()
