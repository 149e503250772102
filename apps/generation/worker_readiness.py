"""The worker's readiness file: written once its warm-up (the fast path's compile, which can take
minutes cold) is done, removed when the worker exits. The worker container's health check tests for it
(deploy/terraform/envs/prod/services.tf), so ECS counts a worker healthy -- and a deployment stops an
old worker -- only once the new one can take a job at once.

The file is NARCIS_WORKER_READY_FILE; unset (the default, outside ECS), none is written.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apps.generation.worker import Worker

logger = logging.getLogger(__name__)
READY_FILE_VARIABLE = "NARCIS_WORKER_READY_FILE"


@contextlib.contextmanager
def ready_after_warm_up(worker: Worker, path: str | None = None) -> Iterator[None]:
    """While inside: the file appears when `worker.warm_up()` returns, and goes when the block ends."""
    path = os.environ.get(READY_FILE_VARIABLE, "") if path is None else path
    if not path:
        yield
        return
    ready = Path(path)
    ready.unlink(missing_ok=True)  # left by a killed predecessor: it says nothing about this process
    warm_up = worker.warm_up

    def warm_up_then_ready() -> None:
        warm_up()
        ready.parent.mkdir(parents=True, exist_ok=True)
        ready.write_text(f"{worker.worker_id}\n")
        logger.info("worker ready", extra={"worker": worker.worker_id, "ready_file": str(ready)})

    worker.warm_up = warm_up_then_ready
    try:
        yield
    finally:
        ready.unlink(missing_ok=True)
        del worker.warm_up  # the class's method again
