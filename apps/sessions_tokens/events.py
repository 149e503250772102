"""Signals for the apps above this one (which it cannot import), about the owners of their rows.

Both are sent inside the transaction that makes the change, so what the receivers write commits or
rolls back with it:
- `guest_linked(session, user)`: a guest session was just linked to an account (sign-up or log-in);
  move what the session owns to the account.
- `owner_erasing(owner)`: an account or a guest session is about to be deleted, at its owner's request
  or because the session expired; remove everything of theirs, stored files included.
"""

from django.dispatch import Signal

guest_linked = Signal()
owner_erasing = Signal()
