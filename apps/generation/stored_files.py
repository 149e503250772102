"""Files in storage that no row names: what a cascade left behind (it deletes rows, not files) or a process
killed between storing a file and committing its row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable


def unnamed_files(
    storage, folder: str, *, named_among: Callable[[list[str]], Iterable[str]], older_than: dt.datetime
) -> list[str]:
    """The paths under `folder` that `named_among(paths)` does not return, last written before
    `older_than` (a file stored just before its row commits is not an orphan yet)."""
    try:
        _, names = storage.listdir(folder)
    except FileNotFoundError:
        return []
    paths = [f"{folder}/{name}" for name in names]
    named: set[str] = set()
    for start in range(0, len(paths), 500):  # bounded IN lists, for any number of files
        named |= set(named_among(paths[start : start + 500]))
    return [path for path in paths if path not in named and storage.get_modified_time(path) < older_than]
