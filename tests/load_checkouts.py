"""The versions a load campaign measures side by side: this checkout, and optionally an older commit in a
temporary git worktree (run with this checkout's virtual environment). Each gets a fresh PostgreSQL
database of its own, migrated and seeded by its own code (tests/load_fixture.py), dropped at the end."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.campaign_clients import PROJECT

FIXTURE = Path(__file__).with_name("load_fixture.py")


@dataclass
class Checkout:
    label: str  # "new", or "old" for the baseline
    folder: Path
    env: dict  # DATABASE_URL and REDIS_URL of its own
    seeded: dict = field(default_factory=dict)

    def fixture(self, *args: str, order: dict | None = None) -> dict:
        """Runs tests/load_fixture.py (this checkout's copy of the campaign) inside this version's folder:
        its models, its services, its channel layer."""
        run = f"import runpy; runpy.run_path({str(FIXTURE)!r}, run_name='__main__')"
        result = subprocess.run(
            [sys.executable, "-c", run, *args],
            cwd=self.folder,
            env=self.env,
            input=json.dumps(order) if order is not None else None,
            capture_output=True,
            text=True,
        )
        if result.returncode:
            raise RuntimeError(f"load_fixture {args[0]} failed in {self.folder}:\n{result.stderr[-3000:]}")
        return json.loads(result.stdout.strip().splitlines()[-1])

    def prepare(self, jobs: int) -> None:
        manage = [sys.executable, "manage.py", "migrate", "-v0"]
        subprocess.run(manage, cwd=self.folder, env=self.env, check=True)
        self.seeded = self.fixture("seed", "--jobs", str(jobs))


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def with_redis_db(url: str, offset: int) -> str:
    """Another database number on the same Redis, so two versions never read each other's cache keys."""
    parts = urlsplit(url)
    number = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(number + offset) % 16}"))


@contextlib.contextmanager
def fresh_database(url: str):
    """A new, empty database at `url` (one left over by an interrupted run is dropped first); dropped
    again on the way out."""
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.strip("/")
    maintenance = with_database(url, "postgres")

    def execute(statement: str) -> None:
        with psycopg.connect(maintenance, autocommit=True) as connection:
            connection.execute(sql.SQL(statement).format(sql.Identifier(name)))

    execute("DROP DATABASE IF EXISTS {} WITH (FORCE)")
    execute("CREATE DATABASE {}")
    try:
        yield url
    finally:
        execute("DROP DATABASE IF EXISTS {} WITH (FORCE)")


@contextlib.contextmanager
def worktree(revision: str):
    """`revision` checked out, detached, in a temporary folder; removed on the way out."""
    folder = Path(tempfile.mkdtemp(prefix="narcis-baseline-")) / "tree"
    git = ["git", "-C", str(PROJECT)]
    subprocess.run([*git, "worktree", "add", "--detach", "--quiet", str(folder), revision], check=True)
    try:
        yield folder
    finally:
        subprocess.run([*git, "worktree", "remove", "--force", str(folder)], check=False)
        subprocess.run([*git, "worktree", "prune"], check=False)


@contextlib.contextmanager
def checkouts(env: dict, *, baseline: str | None, jobs: int, revision: str | None = None):
    """[old, new] (old only with a baseline revision), each migrated and seeded in its own database named
    after DATABASE_URL's (`<name>_new`, `<name>_old`); DATABASE_URL's own database is not touched. New is
    this working tree, or `revision` in a worktree of its own (a committed state while others edit)."""
    database = env["DATABASE_URL"]
    if not database.startswith("postgres"):
        raise SystemExit("the load campaign needs PostgreSQL: DATABASE_URL=postgres://...")
    name = urlsplit(database).path.strip("/")
    with contextlib.ExitStack() as stack:
        made = []
        if baseline:
            folder = stack.enter_context(worktree(baseline))
            url = stack.enter_context(fresh_database(with_database(database, f"{name}_old")))
            redis = with_redis_db(env.get("REDIS_URL", "redis://127.0.0.1:6379/0"), 1)
            made.append(Checkout("old", folder, {**env, "DATABASE_URL": url, "REDIS_URL": redis}))
        folder = stack.enter_context(worktree(revision)) if revision else PROJECT
        url = stack.enter_context(fresh_database(with_database(database, f"{name}_new")))
        made.append(Checkout("new", folder, {**env, "DATABASE_URL": url}))
        for checkout in made:
            checkout.prepare(jobs)
        yield made
