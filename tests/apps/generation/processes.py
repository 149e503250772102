"""Helpers for tests that run the product as real processes (the web server, run_worker)."""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from django.db import connection

PROJECT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def child_env(**overrides: str | None) -> dict:
    """This environment with overrides; None removes a variable."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def current_database_url() -> str:
    """DATABASE_URL of the database this test runs on (pytest-django's test_ copy)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def manage(*args: str) -> list[str]:
    return [sys.executable, str(PROJECT / "manage.py"), *args]


def wait_for_http(url: str, *, timeout: float = 90.0, process=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f}s")


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    """(body, content type) of a multipart/form-data request, as curl -F sends it."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        parts.append(f"{head}{value}\r\n".encode())
    for name, (filename, data, content_type) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def embedded_default(folder: Path, **overrides: str | None) -> dict:
    """The environment of the embedded default (SQLite, in-process layer, file cache, local media), all
    kept in `folder`, with the database migrated (a copy of the session's one migrated database when
    the folder has none yet: `migrate` is seconds of start-up a test would pay each time)."""
    database = folder / "narcis.sqlite3"
    env = _embedded_env(folder, database, **overrides)
    if not database.exists():
        shutil.copyfile(_migrated_database(), database)
    return env


def _embedded_env(folder: Path, database: Path, **overrides: str | None) -> dict:
    return child_env(
        DATABASE_URL=f"sqlite:///{database}",
        NARCIS_MEDIA_ROOT=str(folder / "media"),
        NARCIS_CACHE_DIR=str(folder / "cache"),
        REDIS_URL=None,
        DJANGO_SETTINGS_MODULE="narcis_site.settings",
        **overrides,
    )


@functools.cache
def _migrated_database() -> Path:
    """A SQLite database migrated by `manage.py migrate`, once per test session."""
    folder = Path(tempfile.mkdtemp(prefix="narcis-migrated-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    database = folder / "narcis.sqlite3"
    env = _embedded_env(folder, database)
    subprocess.run(manage("migrate", "--noinput"), env=env, cwd=PROJECT, check=True, capture_output=True)
    return database


@contextlib.contextmanager
def running_site(folder: Path, *, seed_demo: bool = False, **env_overrides: str | None):
    """`make run` in miniature: migrate a fresh SQLite database in `folder`, optionally seed the demo
    wall, then serve as `make run` does, with the embedded worker; yields "127.0.0.1:<port>"."""
    port = free_port()
    # No drain period: the test is over when it stops the server (tests/narcis_site/test_web_drain.py).
    overrides = {"NARCIS_EMBEDDED_WORKER": "true", "DEBUG": "true", "WEB_DRAIN_S": "0", **env_overrides}
    env = embedded_default(folder, **overrides)
    if seed_demo:
        subprocess.run(manage("photowall", "--demo"), env=env, cwd=PROJECT, check=True, capture_output=True)
    log_path = folder / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "narcis_site.serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=PROJECT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_http(f"http://127.0.0.1:{port}/health", process=process)
            yield f"127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(10)
            print(log_path.read_text()[-4000:])  # shown when the test fails


# Parameters for a job that a test must catch mid-run in a worker process: 256 px, 40 steps (seconds).
SLOW = {"width": 256, "height": 256, "steps": 40, "start_merge_step": 6, "detailing_resolution": 256}
