"""The account API's response shapes (the API renders them; guest_snapshot.py renders MeOut the same way)."""

from datetime import datetime

from ninja import Schema


class MeOut(Schema):
    authenticated: bool
    email: str | None = None
    balance: int
    guest_expires_at: datetime | None = None
