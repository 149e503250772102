"""The servers a campaign runs privately, each on a port of its own, so that it may kill or restart them:
Redis, a PostgreSQL instance of its own (initdb in a temporary folder; never the machine's shared server)
and an HAProxy balancer in front of the web processes, configured to behave as the ALB does."""

from __future__ import annotations

import csv
import io
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path


class Redis:
    def __init__(self, port: int):
        self.port, self.process = port, None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        self.process = subprocess.Popen(
            [*command, "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(200):
            ping = subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True)
            if ping.stdout.strip() == "PONG":
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)


class PrivatePostgres:
    """A PostgreSQL cluster in a temporary folder on `port`, trust authentication for `postgres` on
    127.0.0.1. PostgreSQL refuses to run as root, so under root its programs run as the `postgres` user."""

    def __init__(self, port: int):
        self.port = port
        self.folder = Path(tempfile.mkdtemp(prefix="narcis-pg-"))
        self.data = self.folder / "data"
        bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)
        self.bin = Path(bindir.stdout.strip())
        self._as = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    def _run(self, program: str, *args: str) -> None:
        command = [*self._as, str(self.bin / program), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode:
            log = self.folder / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{program} {' '.join(args)} failed: {result.stderr or result.stdout}\n{tail}")

    def _pg_ctl(self, *args: str) -> None:
        # -l: the postmaster writes to its log, not to this process's pipes (which would then stay open)
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"), "-w", *args)

    def start(self) -> None:
        if not self.data.exists():
            self._run(
                "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"
            )
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off "
            "-c max_connections=300 -c full_page_writes=off"
        )
        self._pg_ctl("-o", options, "start")

    def restart(self) -> float:
        """Stops it as a restart does (every session ended at once, `-m fast`), starts it again; returns the
        seconds it refused connections."""
        started = time.monotonic()
        self._pg_ctl("-m", "fast", "restart")
        return time.monotonic() - started

    def stop(self) -> None:
        if self.data.exists():
            self._pg_ctl("-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"


class Balancer:
    """HAProxy in front of the web processes, as the ALB is in production: a health check every second
    with the ALB's 4 s timeout, 2 failures take a process out and 2 successes put it back; a connection
    refused is the client's error, never retried on another process (`retries 0`); when every process
    fails its checks, requests go to all registered ones (the ALB fails open; here the `backup` servers
    without checks). A deploy deregisters a process before stopping it (`deregister`: its server and
    its backup leave the rotation, requests in flight finish), as ECS does with the target group.
    """

    def __init__(self, port: int, backends: list[int]):
        self.port, self.backends = port, backends
        self.folder = Path(tempfile.mkdtemp(prefix="narcis-haproxy-"))
        self.stats_socket = self.folder / "stats.sock"
        self.process = None

    def config(self) -> str:
        servers = [f"    server web{i} 127.0.0.1:{port} check" for i, port in enumerate(self.backends)]
        backups = [f"    server open{i} 127.0.0.1:{port} backup" for i, port in enumerate(self.backends)]
        return "\n".join(
            [
                "global",
                f"    stats socket {self.stats_socket} level admin",
                "    maxconn 4096",
                "defaults",
                "    mode http",
                "    timeout connect 2s",
                "    timeout client 120s",
                "    timeout server 120s",
                "    timeout tunnel 1h",
                "    retries 0",
                "frontend front",
                f"    bind 127.0.0.1:{self.port}",
                "    default_backend web",
                "backend web",
                "    balance roundrobin",
                "    option httpchk GET /health",
                "    option allbackups",
                "    timeout check 4s",
                "    default-server inter 1s fall 2 rise 2",
                *servers,
                *backups,
                "",
            ]
        )

    def start(self) -> None:
        path = self.folder / "haproxy.cfg"
        path.write_text(self.config())
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        check = subprocess.run([haproxy, "-c", "-f", str(path)], capture_output=True, text=True)
        if check.returncode:
            raise RuntimeError(f"haproxy refused its configuration: {check.stdout}{check.stderr}")
        self.process = subprocess.Popen(
            [haproxy, "-db", "-f", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while not self.stats_socket.exists():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("haproxy did not start")
            time.sleep(0.05)

    def _command(self, command: str) -> str:
        with socket.socket(socket.AF_UNIX) as stats:
            stats.connect(str(self.stats_socket))
            stats.sendall(command.encode() + b"\n")
            raw = b""
            while chunk := stats.recv(65536):
                raw += chunk
        return raw.decode()

    def states(self) -> dict[str, str]:
        """Each checked server's state as HAProxy sees it ("UP", "DOWN", "MAINT", "UP 1/2", ...)."""
        rows = csv.DictReader(io.StringIO(self._command("show stat").lstrip("# ")))
        return {row["svname"]: row["status"] for row in rows if row["svname"].startswith("web")}

    def deregister(self, index: int) -> None:
        """Out of the rotation, as a target ECS deregisters: no new requests, those in flight finish."""
        for server in (f"web{index}", f"open{index}"):
            self._command(f"set server web/{server} state maint")

    def register(self, index: int) -> None:
        """Back in the rotation; the health checks decide when it takes requests again."""
        for server in (f"web{index}", f"open{index}"):
            self._command(f"set server web/{server} state ready")

    def wait_until(self, server: str, state: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while self.states().get(server) != state:
            if time.monotonic() > deadline:
                raise RuntimeError(f"haproxy never saw {server} {state}: {self.states()}")
            time.sleep(0.1)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
        shutil.rmtree(self.folder, ignore_errors=True)
