"""The pool survives a PostgreSQL restart: every pooled connection the restart ended is found dead as it
is lent (CONN_HEALTH_CHECKS: one empty query) and replaced, so the first query after the restart works.
Without the check the pool lends a dead connection and that query fails. A private cluster of its own
(tests/campaign_servers.py), restarted as `pg_ctl restart -m fast` does (every session ended at once)."""

from __future__ import annotations

import copy
import threading

import pytest
from django.db import OperationalError, connection

from narcis_site import config
from narcis_site.postgresql.base import DatabaseWrapper
from tests.apps.generation.processes import free_port
from tests.campaign_servers import PrivatePostgres

pytestmark = [pytest.mark.postgres]


@pytest.fixture(scope="module")
def private_postgres():
    server = PrivatePostgres(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def own_database(django_db_blocker):
    """Not the suite's test database: a cluster of this module's own, which pytest-django guards not."""
    with django_db_blocker.unblock():
        yield


def wrapper_on(server: PrivatePostgres, *, alias: str, unchecked: bool) -> DatabaseWrapper:
    """A wrapper as narcis_site/config.py configures one (optionally without the check), own pool."""
    settings_dict = config.database_from_url(server.url("postgres"), base_dir=None, env={})
    if unchecked:
        settings_dict["CONN_HEALTH_CHECKS"] = False
    defaults = copy.deepcopy(connection.settings_dict)  # TIME_ZONE, AUTOCOMMIT, ATOMIC_REQUESTS...
    return DatabaseWrapper({**defaults, **settings_dict, "TEST": {}}, alias=alias)


def query(wrapper: DatabaseWrapper) -> int:
    try:
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone()[0]
    finally:
        wrapper.close()  # the end of a request


def fill_the_pool(wrapper: DatabaseWrapper) -> None:
    """Every slot lent once and returned, as a busy process leaves its pool."""
    size = wrapper.settings_dict["OPTIONS"]["pool"]["max_size"]
    barrier = threading.Barrier(size)

    def hold():
        own = DatabaseWrapper(wrapper.settings_dict, alias=wrapper.alias)
        own.ensure_connection()
        barrier.wait(timeout=30)
        own.close()

    threads = [threading.Thread(target=hold) for _ in range(size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)


def test_the_first_query_after_a_restart_works(private_postgres):
    wrapper = wrapper_on(private_postgres, alias="restart-as-configured", unchecked=False)
    try:
        fill_the_pool(wrapper)
        assert query(wrapper) == 1
        private_postgres.restart()
        assert query(wrapper) == 1
    finally:
        wrapper.close_pool()


def test_without_the_check_the_pool_lends_a_connection_the_restart_ended(private_postgres):
    """Why the configuration checks: the same restart, the check off."""
    wrapper = wrapper_on(private_postgres, alias="restart-unchecked", unchecked=True)
    try:
        fill_the_pool(wrapper)
        private_postgres.restart()
        with pytest.raises(OperationalError):
            query(wrapper)
    finally:
        wrapper.close_pool()
