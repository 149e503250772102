"""Whose fault is it? The job's, or the infrastructure's.

A job fault (no face in the photo or the portrait, parameters that are not valid, a photo that cannot be
decoded) fails the job with a message for the visitor and a refund. An infrastructure fault (the
database connection dropped, Redis, storage timeouts and 5xx, GPU memory) is never the visitor's loss:
the worker reconnects and retries, splits a batch that ran out of memory, or hands the jobs back to the
queue (services.job_release).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import TypeVar

from botocore.exceptions import ClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from django.db import InterfaceError, OperationalError, connections
from redis.exceptions import RedisError

logger = logging.getLogger("narcis.worker")

T = TypeVar("T")

# ConnectionError and TimeoutError are the builtins (sockets); a missing file is a job fault.
INFRASTRUCTURE = (
    OperationalError,
    InterfaceError,
    RedisError,
    BotoConnectionError,
    ConnectionError,
    TimeoutError,
)


def _chain(error: BaseException):
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def is_out_of_memory(error: BaseException) -> bool:
    # Only a process that imported torch can run out of GPU memory; the web imports this module without it.
    torch = sys.modules.get("torch")
    oom = (torch.OutOfMemoryError,) if torch is not None else ()
    return any(isinstance(e, oom) or "out of memory" in str(e).lower() for e in _chain(error))


def is_infrastructure(error: BaseException) -> bool:
    for e in _chain(error):
        if isinstance(e, INFRASTRUCTURE):
            return True
        if isinstance(e, ClientError):  # storage answered: 5xx is its trouble, 4xx ours to look at
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if status >= 500:
                return True
    return is_out_of_memory(error)


def reconnect() -> None:
    """Drop this thread's database connections; the next query opens a fresh one."""
    for connection in connections.all(initialized_only=True):
        try:
            connection.close()
        except Exception:  # noqa: BLE001 - a connection already dead cannot be closed cleanly
            pass


def retrying(action: Callable[[], T], *, what: str, attempts: int = 5, first_delay: float = 0.25) -> T:
    """`action()`, retried with backoff (0.25 s, 0.5 s, 1 s, 2 s) on infrastructure faults, reconnecting
    to the database before each retry. A job fault, or the last infrastructure fault, is raised."""
    delay = first_delay
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except Exception as error:
            if attempt == attempts or not is_infrastructure(error):
                raise
            logger.warning(
                "infrastructure fault, retrying",
                extra={"what": what, "attempt": attempt, "error": f"{type(error).__name__}: {error}"},
            )
            reconnect()
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")
