"""psycopg's connection pool (Django's OPTIONS["pool"]) that a thread cannot drain by dying.

Django keeps one DatabaseWrapper per thread. With the pool, closing it (connection.close(),
close_old_connections() at the end of a request or of channels' database_sync_to_async) hands the
connection back. A thread that ends without closing it does not: the wrapper is garbage with its
thread, the psycopg connection is dropped, and the pool still counts it as lent. Measured without this
guard: max_size such threads and every later query waits `timeout` and fails (PoolTimeout), forever.

So every connection taken from the pool is recorded in a thread-local loan. Ending a thread frees its
thread-locals at once (reference counting, in that thread); a loan freed while still holding its
connection puts it back (the pool rolls back an open transaction, or replaces a broken connection) and
logs an error naming the thread: a leak is repaired and reported; `take_leaked_threads()` lets the
PostgreSQL test run fail the test during which it happened (tests/conftest.py).
"""

from __future__ import annotations

import collections
import logging
import threading
import weakref

from django.db.backends.postgresql import base as postgresql
from psycopg_pool import ConnectionPool

logger = logging.getLogger("narcis.db")

_loans = threading.local()
_leaks: collections.deque[str] = collections.deque(maxlen=1000)


def take_leaked_threads() -> list[str]:
    """Names of the threads that ended holding a pooled connection since the last call (tests: none)."""
    taken = []
    while _leaks:
        taken.append(_leaks.popleft())
    return taken


class _Loan:
    """One pooled connection lent to one thread; its __del__ runs when the thread's locals are freed."""

    __slots__ = ("__weakref__", "alias", "connection", "pool", "thread")

    def __init__(self, alias, pool, connection):
        self.alias, self.pool, self.connection = alias, pool, connection
        self.thread = threading.current_thread().name

    def settle(self) -> None:
        self.connection = None

    def __del__(self):
        connection, self.connection = self.connection, None
        if connection is None:
            return
        _leaks.append(self.thread)
        try:
            self.pool.putconn(connection)
            returned = True
        except Exception:  # noqa: BLE001 - a closed pool or a dead connection: nothing to hand back
            returned = False
        logger.error(
            "thread %r ended holding a database connection (close it before the thread ends)",
            self.thread,
            extra={"thread_name": self.thread, "database": self.alias, "returned_to_pool": returned},
        )


def _check_or_drain(connection) -> None:
    """psycopg's check as each connection is lent (CONN_HEALTH_CHECKS), and when one fails, every idle
    one is replaced at once: a PostgreSQL restart or failover ended them all, and psycopg would otherwise
    find them dead one by one, backing off 1, 2, 4 s between them (16 dead ones: the wait for a
    connection ran out; tests/narcis_site/test_pool_restart.py)."""
    try:
        ConnectionPool.check_connection(connection)
    except Exception:
        pool = getattr(connection, "_pool", None)
        if pool is not None:
            logger.warning("a pooled connection was found dead; replacing every idle one")
            pool.drain()
        raise


def _lent() -> dict:
    try:
        return _loans.by_wrapper
    except AttributeError:
        _loans.by_wrapper = {}
        return _loans.by_wrapper


class DatabaseWrapper(postgresql.DatabaseWrapper):
    # A weak reference: the wrapper lives in reference cycles (ops, features, ... point back at it) and
    # is freed only by the cyclic GC, long after its thread; the loan must die with the thread.
    _loan: weakref.ref | None = None

    @property
    def pool(self):
        pool = super().pool
        # Django hands psycopg its own check when CONN_HEALTH_CHECKS is on; ours also drains (above).
        if pool is not None and pool._check is ConnectionPool.check_connection:
            pool._check = _check_or_drain
        return pool

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        if self.pool is not None:
            loan = _Loan(self.alias, connection._pool, connection)
            # Keyed by wrapper, not alias: a thread may hold several wrappers of one alias (a test that
            # swaps connections["default"]); replacing a live wrapper's loan would hand its connection back.
            _lent()[id(self)] = loan
            self._loan = weakref.ref(loan)
        return connection

    def _close(self):
        held, loan = self.connection, self._loan() if self._loan else None
        try:
            return super()._close()
        finally:
            # Django sets `connection` to None once putconn() took it back; only then is the loan over
            # (settled through the wrapper: a connection shared with another thread may close there).
            if loan is not None and held is not None and self.connection is None and loan.connection is held:
                loan.settle()
                self._loan = None
