"""Progress bars for our command-line tools, stage by stage with steps, on stderr when it is a terminal;
nothing at all otherwise, so `python -m inference generate ... | jq` reads only the JSON on stdout."""

from __future__ import annotations

import shutil
import sys
from typing import TextIO

from tqdm import tqdm

LABELS = {"base": "stage 1", "detailing": "detailing"}


class StageBars:
    def __init__(self, stream: TextIO | None = None, *, enabled: bool | None = None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._bars: dict[str, tqdm] = {}

    def step(self, stage: str, done: int, total: int) -> None:
        """`done` of `total` steps of `stage`: a bar of its own, created at its first step."""
        if not self.enabled:
            return
        bar = self._bars.get(stage)
        if bar is None:
            self.close()  # stages run one after another: the last one's line stays as it ended
            label = LABELS.get(stage, stage)
            size = shutil.get_terminal_size()  # 80 x 24 where the terminal reports 0 x 0 (tqdm draws nothing)
            bar = self._bars[stage] = tqdm(
                total=total, desc=label, file=self.stream, ncols=min(100, size.columns), nrows=size.lines
            )
        bar.update(max(0, done - bar.n))

    def on_progress(self, progress) -> None:
        """For a stage's `on_progress` (inference.portrait.progress.Progress)."""
        self.step(progress.stage, progress.step, progress.total)

    def on_request_progress(self, update) -> None:
        """For PortraitPipeline.run's `on_progress` (one request: its rows' steps are the batch's)."""
        self.on_progress(update.progress)

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()

    def __enter__(self) -> StageBars:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
