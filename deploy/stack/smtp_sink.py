"""make stack's mail server: a local SMTP sink (aiosmtpd) on 127.0.0.1:$EMAIL_PORT that accepts every
message and writes it, as received, to $STACK_MAIL_DIR/<time>-<n>.eml (written aside, then renamed, so a
reader never sees half a message). Nothing is relayed anywhere. The web process sends to it through
Django's SMTP backend, exactly as production sends to SES or any SMTP server."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import time
from pathlib import Path

from aiosmtpd.smtp import SMTP


class FolderHandler:
    def __init__(self, folder: Path):
        self.folder = folder
        self.numbers = itertools.count(1)

    async def handle_DATA(self, server, session, envelope) -> str:
        name = f"{time.time_ns()}-{next(self.numbers)}.eml"
        part = self.folder / f"{name}.part"
        part.write_bytes(envelope.original_content or envelope.content)
        part.rename(self.folder / name)
        return "250 Message accepted for delivery"


async def serve(folder: Path, port: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    handler = FolderHandler(folder)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, hostname="localhost"), "127.0.0.1", port)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(f"SMTP sink on 127.0.0.1:{port}, writing messages to {folder}", flush=True)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    folder = Path(os.environ.get("STACK_MAIL_DIR", "var/stack-mail"))
    asyncio.run(serve(folder, int(os.environ.get("EMAIL_PORT", "1025"))))
