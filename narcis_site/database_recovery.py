"""A read that lost the database is served again once the database answers, instead of answering 500.

PostgreSQL restarting (a minor-version upgrade, an RDS reboot, a failover) ends every connection and
refuses new ones for a few seconds. A GET or HEAD that meets it waits up to DATABASE_RECOVERY_WAIT_S for
a new connection and then runs once more: reading twice is harmless, and a page polling its job should
not see an error for a restart it cannot do anything about. Writes are never run twice: a POST whose
connection broke may have committed, and only its client can tell (the API's Idempotency-Key is for that).
"""

from __future__ import annotations

import logging
import sys
import time

from django.conf import settings
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError, connection
from django.dispatch import receiver

logger = logging.getLogger("narcis.web")

REPEATABLE_METHODS = ("GET", "HEAD")
_LOST_ATTRIBUTE = "_narcis_database_lost"


@receiver(got_request_exception)
def _note_a_lost_database(sender, request=None, **kwargs):
    """Django turns a view's exception into a 500 before any middleware sees it; it tells this signal
    first, from inside its except block."""
    if request is not None and isinstance(sys.exc_info()[1], (OperationalError, InterfaceError)):
        setattr(request, _LOST_ATTRIBUTE, True)


def wait_for_database(seconds: float) -> bool:
    """Drops this thread's broken connection and opens a new one, retrying with backoff; False when the
    database did not answer within `seconds`."""
    give_up_at, pause = time.monotonic() + seconds, 0.1
    while True:
        connection.close()
        try:
            connection.ensure_connection()
            return True
        except (OperationalError, InterfaceError):
            if time.monotonic() + pause > give_up_at:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 1.0)


class DatabaseRecoveryMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method not in REPEATABLE_METHODS or not getattr(request, _LOST_ATTRIBUTE, False):
            return response
        delattr(request, _LOST_ATTRIBUTE)
        if not wait_for_database(settings.DATABASE_RECOVERY_WAIT_S):
            return response
        logger.warning("read served again after the database came back", extra={"path": request.path})
        return self.get_response(request)
