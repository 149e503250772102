import datetime as dt

from django.core.management import call_command
from django.utils import timezone

from apps.sessions_tokens import pending_work, services
from apps.sessions_tokens.models import GuestSession, LedgerEntry, Wallet


def expire(session):
    session.expires_at = timezone.now() - dt.timedelta(hours=1)
    session.save(update_fields=["expires_at"])


def test_purge_deletes_expired_sessions_and_keeps_live_ones(db, capsys):
    live, old = services.guest_session_create(), services.guest_session_create()
    expire(old)
    call_command("purge_guest_sessions")
    assert list(GuestSession.objects.all()) == [live]
    assert not Wallet.objects.filter(guest_session_id=old.pk).exists()
    assert "deleted 1 guest session" in capsys.readouterr().out


def test_purge_keeps_sessions_with_pending_work_but_expires_their_tokens(db):
    busy, idle = services.guest_session_create(), services.guest_session_create()
    services.spend(owner=busy, reference="generation:1")
    expire(busy)
    expire(idle)

    def busy_sessions():
        # What the generation app registers: sessions owning queued or running jobs.
        return GuestSession.objects.filter(pk=busy.pk).values("pk")

    pending_work.register(busy_sessions)
    try:
        result = services.guest_sessions_purge()
    finally:
        pending_work.unregister(busy_sessions)
    assert result.sessions_deleted == 1 and result.balances_expired == 2
    assert list(GuestSession.objects.all()) == [busy]
    expiry = LedgerEntry.objects.get(wallet__guest_session=busy, reason="expire")
    assert (expiry.delta, expiry.balance_after) == (-4, 0)
