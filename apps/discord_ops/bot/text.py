"""Discord's size limits on what the bot says, and the links it writes."""

from __future__ import annotations

MESSAGE_LIMIT = 2000  # characters of a message's content
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


def message_link(guild_id, channel_id, message_id) -> str:
    """The link that opens a message in Discord's client (`@me` for a direct message)."""
    return f"https://discord.com/channels/{guild_id or '@me'}/{channel_id}/{message_id}"
