"""What the campaigns (tests/chaos_campaign.py, tests/rolling_campaign.py, tests/load_campaign.py) share:
a guest's cookie, a web server process, worker processes, and a websocket watcher that behaves like the
portrait page."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
ENDINGS = ("succeeded", "failed", "canceled")


def spawn(command: list[str], env: dict, log: Path | None) -> subprocess.Popen:
    """A product process in the project's folder, its output (stderr too) appended to `log`, or dropped."""
    output = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed once the child has it
    process = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=output, stderr=subprocess.STDOUT)
    if log:
        output.close()
    return process


def guest_cookie(session) -> str:
    """The Cookie header a browser holding this guest session sends."""
    from django.conf import settings
    from django.core import signing

    from apps.sessions_tokens import selectors as token_selectors

    signer = signing.get_cookie_signer(salt=settings.GUEST_COOKIE_NAME + token_selectors.GUEST_COOKIE_SALT)
    return f"{settings.GUEST_COOKIE_NAME}={signer.sign(str(session.pk))}"


class WebServer:
    """One daphne process (DEBUG off, no embedded worker) on 127.0.0.1:`port`; its output appended to
    `log` when given (warnings and up, and the drain's lines), else dropped."""

    def __init__(self, port: int, env: dict, log: Path | None = None):
        self.port, self.kills, self.process, self.log = port, 0, None, log
        self.env = {
            **env,
            "DEBUG": "false",
            "NARCIS_EMBEDDED_WORKER": "false",
            "COOKIE_SECURE": "false",
            "LOG_LEVEL": env.get("LOG_LEVEL", "WARNING"),
            # Stopped when a test or campaign is done with it: no drain period unless it asks for one.
            "WEB_DRAIN_S": env.get("WEB_DRAIN_S", "0"),
        }

    def start(self, *, timeout: float = 120.0, probe: str = "/health") -> None:
        """Returns once `probe` answers: /health with a 200; any other path with any HTTP status (a 404
        path needs no database)."""
        address = ["-b", "127.0.0.1", "-p", str(self.port)]
        command = [sys.executable, "-m", "daphne", "-v", "0", "--no-server-name"]
        self.process = spawn([*command, *address, "narcis_site.asgi:application"], self.env, self.log)
        deadline = time.monotonic() + timeout
        curl = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", f"{self.base}{probe}"]
        while not self._answered(subprocess.run(curl, capture_output=True, text=True).stdout, probe):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the web server did not start")
            time.sleep(0.1)

    @staticmethod
    def _answered(status: str, probe: str) -> bool:
        return status == "200" if probe == "/health" else status not in ("", "000")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)
        self.kills += 1

    def stop(self, timeout: float = 30.0) -> float:
        """SIGTERM (the web drains: narcis_site.daphne_drain), then the exit; returns the seconds taken."""
        started = time.monotonic()
        self.process.terminate()
        self.process.wait(timeout)
        return time.monotonic() - started


class Workers:
    """`count` run_worker processes with `lease`-second leases; their output appended to `logs`/workerN.log
    when given, else dropped. The chaos campaign SIGKILLs one at random (`kill_one`); the rolling one
    replaces one as a deploy does (`replace`: the new one first, then SIGTERM to the old)."""

    def __init__(self, count: int, env: dict, args: list[str], *, lease: int, logs: Path | None = None):
        self.env, self.args, self.lease, self.logs, self.kills = env, args, lease, logs, 0
        self.processes = [self._start(index) for index in range(count)]

    def _start(self, index: int) -> subprocess.Popen:
        command = [sys.executable, str(PROJECT / "manage.py"), "run_worker", *self.args]
        log = self.logs / f"worker{index}.log" if self.logs else None
        return spawn([*command, "--lease", str(self.lease)], self.env, log)

    def kill_one(self) -> None:
        index = random.randrange(len(self.processes))
        self.processes[index].send_signal(signal.SIGKILL)
        self.processes[index].wait(10)
        self.processes[index] = self._start(index)
        self.kills += 1

    def replace(self, index: int, stop_deadline: float) -> dict:
        old, started = self.processes[index], time.monotonic()
        self.processes[index] = self._start(index)
        old.terminate()
        code = old.wait(stop_deadline + 30)
        return {"worker": index, "exit": code, "seconds": round(time.monotonic() - started, 1)}

    def stop(self, timeout: float = 60.0) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout)


async def watch(base: str, job_id: str, cookie: str, *, give_up_at: float) -> dict:
    """Follows one job like the page: the snapshot, then events until one says the job ended; a socket
    that drops (or is refused while the server restarts) is opened again a second later and its
    snapshot read. Returns the ending seen (None if none came by `give_up_at`) and how often it
    reconnected."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidHandshake

    url = base.replace("http://", "ws://") + f"/ws/generations/{job_id}/"
    reconnects, options = 0, {"additional_headers": {"Cookie": cookie}, "origin": base, "open_timeout": 10}
    while time.monotonic() < give_up_at:
        try:
            async with connect(url, **options) as socket:
                async for message in socket:
                    event = json.loads(message)
                    snapshot = event["event"] == "snapshot"
                    status = event["status"] if snapshot else event["event"]
                    if status in ENDINGS:
                        return {"ending": status, "from_snapshot": snapshot, "reconnects": reconnects}
        except (OSError, InvalidHandshake, ConnectionClosed, TimeoutError):
            pass
        reconnects += 1
        await asyncio.sleep(1.0)
    return {"ending": None, "from_snapshot": False, "reconnects": reconnects}
