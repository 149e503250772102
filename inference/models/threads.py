"""How many CPU threads torch may use in this process: its share of the cores it may run on.

Several torch processes on one machine, each taking a thread per core, run every job many times slower
(three workers on 2 cores: stage 1 took 12 s each instead of 1.1 s alone). So each process takes
cores ÷ the torch processes sharing them: a worker's share is its slice of NARCIS_LOCAL_WORKERS, the web
and the bot take one thread (they run torch only for small models). NARCIS_TORCH_THREADS overrides it.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from enum import Enum
from pathlib import Path

CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")  # cgroup v2: "<quota> <period>" or "max <period>"


class ProcessKind(Enum):
    WORKER = "worker"  # paints: its share of the cores
    WEB = "web"  # the web server: small models only (the mecene's embeddings)
    BOT = "bot"


def usable_cores(*, cpu_max: Path = CGROUP_CPU_MAX) -> int:
    """The cores this process may run on: its CPU affinity, capped by a container's CPU quota."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = cpu_max.read_text().split()
    except (OSError, ValueError):
        return cores
    if quota == "max":
        return cores
    return max(1, min(cores, math.ceil(int(quota) / int(period))))


def threads_for(kind: ProcessKind, *, cores: int, env: Mapping[str, str]) -> int:
    """NARCIS_TORCH_THREADS when set; else 1 for the web and the bot, and for a worker
    cores ÷ NARCIS_LOCAL_WORKERS (the workers on this machine), at least 1."""
    explicit = _positive(env, "NARCIS_TORCH_THREADS")
    if explicit is not None:
        return explicit
    if kind is not ProcessKind.WORKER:
        return 1
    return max(1, cores // (_positive(env, "NARCIS_LOCAL_WORKERS") or 1))


def size_torch_threads(kind: ProcessKind, *, env: Mapping[str, str] | None = None) -> int:
    """Sizes torch's intra-op and inter-op threads for this process; returns the count.

    Before torch is imported, through the variables it reads when it starts (importing torch only to
    size it would add a second to the start of a web process that may never use it); after, directly."""
    threads = threads_for(kind, cores=usable_cores(), env=os.environ if env is None else env)
    if "torch" not in sys.modules:
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)
        return threads
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:  # only settable before the first inter-op work; the intra-op count is what matters
        pass
    return threads


def _positive(env: Mapping[str, str], name: str) -> int | None:
    text = env.get(name, "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {text!r}")
    return int(text)
