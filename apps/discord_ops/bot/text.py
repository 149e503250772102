"""Discord's size limits on what the bot says."""

from __future__ import annotations

MESSAGE_LIMIT = 2000  # characters of a message's content
CHOICE_LIMIT = 100  # characters of an autocomplete choice
ELLIPSIS = "…"


def cut(text: str, limit: int) -> str:
    """`text` in at most `limit` characters, an ellipsis marking a cut."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


def message(text: str) -> str:
    """Any message the bot sends: never over Discord's 2,000 characters."""
    return cut(text, MESSAGE_LIMIT)


def echoed(value, limit: int = 80) -> str:
    """A user's input quoted back in a reply: cut, so a long input cannot swell the reply."""
    return cut(value, limit)
