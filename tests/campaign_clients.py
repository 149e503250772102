"""What the campaigns (tests/chaos_campaign.py, tests/rolling_campaign.py, tests/load_campaign.py) share:
a guest's cookie, a web server process, worker processes, and a websocket watcher that behaves like the
portrait page."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
ENDINGS = ("succeeded", "failed", "canceled")


def spawn(
    command: list[str], env: dict, log: Path | None, *, cwd: Path = PROJECT, pass_fds: tuple = ()
) -> subprocess.Popen:
    """A product process in the project's folder (or `cwd`: another checkout of it), its output (stderr
    too) appended to `log`, or dropped."""
    output = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed once the child has it
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT, pass_fds=pass_fds
    )
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


SERVERS = ("daphne", "uvicorn", "granian", "serve")  # serve: the product's own uvicorn, narcis_site.serve
PRODUCT_APP = "narcis_site.asgi:application"


def server_command(server: str, app: str, port: int, processes: int) -> list[str]:
    """The command line of one ASGI server on 127.0.0.1:`port` with `processes` worker processes
    (daphne has no workers of its own: WebServer starts several on one listening socket; serve runs
    the product's application, one process, as ECS runs one per task)."""
    python = [sys.executable, "-m", server]
    if server == "serve":
        if processes != 1 or app != PRODUCT_APP:
            raise ValueError("narcis_site.serve runs the product's application in one process")
        return [sys.executable, "-m", "narcis_site.serve", "--host", "127.0.0.1", "--port", str(port)]
    if server == "daphne":
        return [*python, "-v", "0", "--no-server-name", "-b", "127.0.0.1", "-p", str(port), app]
    if server == "uvicorn":
        options = ["--loop", "uvloop", "--http", "httptools", "--ws", "websockets", "--lifespan", "off"]
        options += ["--no-access-log", "--no-proxy-headers", "--no-server-header", "--log-level", "warning"]
        workers = ["--workers", str(processes)] if processes > 1 else []  # 1: no supervisor process
        return [*python, app, "--host", "127.0.0.1", "--port", str(port), *options, *workers]
    if server == "granian":
        options = ["--interface", "asgi", "--loop", "uvloop", "--ws", "--no-access-log"]
        options += ["--log-level", "warning", "--workers", str(processes)]
        return [*python, app, "--host", "127.0.0.1", "--port", str(port), *options]
    raise ValueError(f"unknown server {server!r}: one of {SERVERS}")


class WebServer:
    """A web server (the product's, narcis_site.serve, unless `server` names a plain daphne, uvicorn or
    granian: those run the application without the server's protections and drain; DEBUG off, no
    embedded worker) on
    127.0.0.1:`port`, `processes` processes accepting on that one port; its output appended to `log`
    when given (warnings and up, and the drain's lines), else dropped. `project` runs another checkout
    (the load campaign's baseline); `app` another ASGI application (a minimal one, for the server's own
    cost)."""

    def __init__(
        self,
        port: int,
        env: dict,
        log: Path | None = None,
        *,
        server: str = "serve",
        processes: int = 1,
        project: Path = PROJECT,
        app: str = PRODUCT_APP,
    ):
        self.port, self.kills, self.process, self.log = port, 0, None, log
        self.server, self.processes, self.project, self.app = server, processes, project, app
        self.siblings: list[subprocess.Popen] = []  # daphne's other processes on the shared socket
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
        command = server_command(self.server, self.app, self.port, self.processes)
        if self.server == "daphne" and self.processes > 1:
            self._start_daphnes(command)
        else:
            self.process = spawn(command, self.env, self.log, cwd=self.project)
        deadline = time.monotonic() + timeout
        curl = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", f"{self.base}{probe}"]
        while not self._answered(subprocess.run(curl, capture_output=True, text=True).stdout, probe):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the web server ({self.server}) did not start")
            time.sleep(0.1)

    def _start_daphnes(self, command: list[str]) -> None:
        """Several daphnes accept on one listening socket made here (as uvicorn's and granian's own
        workers do), so one address reaches them all and the kernel spreads the connections."""
        listener = socket.create_server(("127.0.0.1", self.port), backlog=2048)
        address = command.index("-b")
        command = [*command[:address], "--fd", str(listener.fileno()), command[-1]]
        started = [
            spawn(command, self.env, self.log, cwd=self.project, pass_fds=(listener.fileno(),))
            for _ in range(self.processes)
        ]
        listener.close()  # the children hold it
        self.process, self.siblings = started[0], started[1:]

    @staticmethod
    def _answered(status: str, probe: str) -> bool:
        return status == "200" if probe == "/health" else status not in ("", "000")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        for process in [self.process, *self.siblings]:
            process.kill()
            process.wait(10)
        self.kills += 1

    def stop(self, timeout: float = 30.0) -> float:
        """SIGTERM (serve drains: narcis_site.drain), then the exit; returns the seconds taken."""
        started = time.monotonic()
        for process in [self.process, *self.siblings]:
            process.terminate()
        for process in [self.process, *self.siblings]:
            process.wait(timeout)
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
