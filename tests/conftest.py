"""Shared fixtures, and the postgres/redis markers.

On the embedded default (SQLite, no REDIS_URL) marked tests are skipped with the reason printed (-rs).
CI sets NARCIS_TEST_REQUIRE_SERVICES=1 for its PostgreSQL + Redis run: there a skip would hide a
broken setup, so a missing server fails the test instead; tests marked `compiles` (torch.compile, which
no server affects) or `embedded_default` (processes on a SQLite file of their own, whatever the pass)
run only in the first pass.
"""

from __future__ import annotations

import itertools
import os
import shutil

import pytest
from asgiref.sync import SyncToAsync
from django.conf import settings
from django.db import connections

from narcis_site.config import POSTGRES_ENGINE

_emails = itertools.count(1)


def _postgres_available() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == POSTGRES_ENGINE


def _redis_available() -> bool:
    return bool(settings.REDIS_URL)


CHROMIUM = "/usr/bin/chromium"
# Markers whose tests the PostgreSQL + Redis pass skips, with the reason it prints.
FIRST_PASS_ONLY = {
    "compiles": "compiled in the embedded-default pass already",
    "embedded_default": "runs its own embedded default: the first pass ran it",
}


# What torch reads at start, as the suite found it (narcis_site.asgi may set them for a web process).
_THREAD_VARIABLES = {name: os.environ.get(name) for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}


def pytest_collection_finish(session):
    """Test modules import narcis_site.asgi, which sizes torch's threads for a web process (one); the
    suite's own inference runs in this process, sized as a worker (every core, or NARCIS_TORCH_THREADS
    when CI runs two passes side by side), and the processes it starts get the environment it was given."""
    import torch

    from inference.models.threads import ProcessKind, threads_for, usable_cores

    for name, value in _THREAD_VARIABLES.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    torch.set_num_threads(threads_for(ProcessKind.WORKER, cores=usable_cores(), env=os.environ))


def pytest_collection_modifyitems(config, items):
    require = os.environ.get("NARCIS_TEST_REQUIRE_SERVICES") == "1"
    missing = {
        "postgres": None if _postgres_available() else "needs PostgreSQL: set DATABASE_URL=postgres://...",
        "redis": None if _redis_available() else "needs Redis: set REDIS_URL=redis://...",
        "browser": None if os.path.exists(CHROMIUM) else "needs Debian's chromium: apt-get install chromium",
        "balancer": None if shutil.which("haproxy") else "needs HAProxy: apt-get install haproxy",
    }
    for item in items:
        for marker, reason in FIRST_PASS_ONLY.items():
            if require and item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(reason=reason))
        for marker, reason in missing.items():
            if reason and item.get_closest_marker(marker):
                if require:
                    raise pytest.UsageError(f"NARCIS_TEST_REQUIRE_SERVICES=1 but {item.nodeid} {reason}")
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True)
def no_thread_keeps_a_pooled_connection():
    """A thread that ended holding a pooled connection during the test fails it (the pool got the
    connection back and logged the thread: narcis_site/postgresql/base.py). Close it before the thread
    ends: connection.close(), or close_old_connections() as requests and the bot's executors do."""
    from narcis_site.postgresql.base import take_leaked_threads

    take_leaked_threads()
    yield
    # An async test's sync_to_async calls share asgiref's one long-lived thread: its connection would
    # outlive the test (and keep the test database from being dropped at the end).
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()
    leaked = take_leaked_threads()
    if leaked:
        pytest.fail(f"these threads ended holding a database connection: {leaked}")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """On the embedded default the test database is a SQLite file, as `make run`'s is. Django's default,
    a shared-cache memory database, refuses a second writer at once ("database table is locked": its
    table locks never wait for the busy timeout), so threads that write together failed there where a
    file makes them wait their turn."""
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        database.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("database") / "test.sqlite3")


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    """The suite's own cache: never the file cache a `make run` in this checkout is using."""
    from django.test import override_settings

    from narcis_site import config

    with override_settings(CACHES=config.caches(settings.REDIS_URL, tmp_path_factory.mktemp("cache"))):
        yield


@pytest.fixture(scope="session", autouse=True)
def private_media(tmp_path_factory):
    """The suite's own media folder: never the media/ a `make run` in this checkout left behind."""
    from django.test import override_settings

    with override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media")):
        yield


@pytest.fixture(autouse=True)
def generous_guest_allowances(settings):
    """The suite makes many guests and submits from 127.0.0.1; test_allowances.py and
    test_submit_order.py test the real caps."""
    settings.GUEST_ALLOWANCES_PER_ADDRESS = 10_000
    settings.SUBMITS_PER_MINUTE_PER_ADDRESS = 10_000
    settings.SUBMITS_PER_MINUTE_PER_VISITOR = 10_000


@pytest.fixture
def make_user(db):
    from apps.sessions_tokens.models import User

    def make(*, staff: bool = False, password: str = "a-long-pass-phrase-42", **fields) -> User:
        email = fields.pop("email", f"user{next(_emails)}@example.com")
        return User.objects.create_user(email=email, password=password, is_staff=staff, **fields)

    return make


@pytest.fixture
def staff_user(make_user):
    return make_user(staff=True, is_superuser=True)


@pytest.fixture
def guest(db):
    from apps.sessions_tokens import services

    return services.guest_session_create()


@pytest.fixture(scope="session")
def tiny_models():
    """The tiny preset on the CPU, built once per test session (treat it as read-only)."""
    from inference.models.registry import ModelRegistry

    return ModelRegistry.load("tiny", device="cpu")
