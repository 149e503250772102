"""The bot's database and storage work, off the event loop and off asgiref's one shared thread: a
200-job session being built must not hold up autocomplete, buttons or /cancel.

Three pools: QUICK for lookups and small writes (what a command waits on before Discord's 3 seconds run
out), IMAGES for reading and copying result images (posting, Save), BUILD for session creation (seconds of
photo copies): a pass posting large images never holds up a command's lookup.
Every call starts and ends with close_old_connections(), as a Django request does: a connection broken
by a database failover is dropped instead of poisoning every later command."""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections

QUICK = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ops-db")
IMAGES = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ops-images")
BUILD = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ops-build")


def _fresh(fn, args, kwargs):
    close_old_connections()
    try:
        return fn(*args, **kwargs)
    finally:
        close_old_connections()


async def db(fn, /, *args, **kwargs):
    """fn(*args, **kwargs) in the QUICK pool."""
    return await asyncio.get_running_loop().run_in_executor(
        QUICK, functools.partial(_fresh, fn, args, kwargs)
    )


async def build(fn, /, *args, **kwargs):
    """fn(*args, **kwargs) in the BUILD pool: long work that must not queue behind or ahead of lookups."""
    return await asyncio.get_running_loop().run_in_executor(
        BUILD, functools.partial(_fresh, fn, args, kwargs)
    )


async def image_io(fn, /, *args, **kwargs):
    """fn(*args, **kwargs) in the IMAGES pool: result images read or copied (megabytes from storage)."""
    return await asyncio.get_running_loop().run_in_executor(
        IMAGES, functools.partial(_fresh, fn, args, kwargs)
    )
