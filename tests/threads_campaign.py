"""Torch threads and several processes on one machine: N `python -m inference generate` processes at
once (256 px, 20 steps, stage 1 on the tiny preset), first as before this setting existed (torch takes a
thread per core in each process), then with each process sized as a worker among N
(NARCIS_LOCAL_WORKERS=N). Prints the stage-1 seconds of each process, per variant, and a markdown row
for docs/benchmarks.md.

    .venv/bin/python -m tests.threads_campaign --processes 1 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from inference.models.threads import usable_cores

PROJECT = Path(__file__).resolve().parents[1]


def run_at_once(count: int, env: dict, folder: Path) -> list[float]:
    """Stage-1 seconds of `count` generate processes started together."""
    processes = [
        subprocess.Popen(
            [
                *(
                    sys.executable,
                    "-m",
                    "inference",
                    "generate",
                    "--prompt",
                    "a portrait",
                    "--models",
                    "tiny",
                ),
                *("--width", "256", "--height", "256", "--steps", "20", "--seed", str(n)),
                *("--out", str(folder / f"{n}.png")),
            ],
            cwd=PROJECT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for n in range(count)
    ]
    reports = [json.loads(process.communicate()[0].splitlines()[-1]) for process in processes]
    return [sum(report["timings"].values()) for report in reports]  # encode + denoise + decode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 3])
    args = parser.parse_args()
    cores = usable_cores()
    base = {k: v for k, v in os.environ.items() if k not in ("NARCIS_TORCH_THREADS", "NARCIS_LOCAL_WORKERS")}
    with tempfile.TemporaryDirectory() as folder:
        run_at_once(1, base, Path(folder))  # a warm-up: files read once from disk
        rows = []
        for count in args.processes:
            before = run_at_once(count, {**base, "NARCIS_TORCH_THREADS": str(cores)}, Path(folder))
            after = run_at_once(count, {**base, "NARCIS_LOCAL_WORKERS": str(count)}, Path(folder))
            print(f"{count} at once, {cores} cores: before {before}, after {after}", file=sys.stderr)
            rows.append((count, statistics.mean(before), statistics.mean(after)))
    for count, before, after in rows:
        threads = max(1, cores // count)
        print(
            f"| {count} | {cores} | {before:.2f} | {after:.2f} ({threads} thread{'s' * (threads > 1)} each) |"
        )


if __name__ == "__main__":
    main()
