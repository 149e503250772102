"""A finished result on the channel: its text, its image (a JPEG preview when the PNG is over the
guild's upload limit), its buttons. Posted exactly once: the message id is recorded the moment `send`
returns, and the 💾/❌ reactions (a fallback for the buttons) are a separate best-effort step."""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable

import nextcord
from PIL import Image

from apps.discord_ops import services
from apps.discord_ops.bot import text
from apps.discord_ops.bot.db import build, db
from apps.discord_ops.selectors import ResultCard
from apps.generation import selectors as generation_selectors

logger = logging.getLogger("narcis.ops.bot")

SAVE, HIDE = "💾", "❌"
PREVIEW_SIDE = 1536  # pixels: the preview's longer side
BUTTONS = (  # action, label, style
    ("save", "Save", nextcord.ButtonStyle.success),
    ("hide", "Hide", nextcord.ButtonStyle.danger),
    ("reroll", "Reroll", nextcord.ButtonStyle.secondary),
    ("rerun", "Rerun with my set", nextcord.ButtonStyle.secondary),
    ("params", "Parameters", nextcord.ButtonStyle.secondary),
)
ButtonHandler = Callable[[str, int, nextcord.Interaction], Awaitable[None]]


def custom_id(action: str, item_id: int) -> str:
    return f"narcis:{action}:{item_id}"


class ResultView(nextcord.ui.View):
    """The buttons under one result. timeout=None and a custom_id per result and action: registered
    again with bot.add_view at start, they keep working after a restart."""

    def __init__(self, item_id: int, handler: ButtonHandler):
        super().__init__(timeout=None, auto_defer=False)
        for action, label, style in BUTTONS:
            button = nextcord.ui.Button(label=label, style=style, custom_id=custom_id(action, item_id))
            button.callback = _pressed(handler, action, item_id)
            self.add_item(button)


def _pressed(handler: ButtonHandler, action: str, item_id: int):
    async def callback(interaction: nextcord.Interaction) -> None:
        await handler(action, item_id, interaction)

    return callback


class CannotPost(Exception):
    """Discord refuses the bot's messages in this channel (403): retrying will not help."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def result_text(card: ResultCard, note: str = "") -> str:
    outcome = card.outcome
    head = f"#{card.position + 1} **{text.echoed(card.idea)}** · {card.face}"
    if not outcome.succeeded:
        return text.message(f"{head} · {outcome.status}: {outcome.error or 'no reason given'}")
    varied = ", ".join(f"{k}={v}" for k, v in card.varied.items() if k != "seed")
    parts = [
        f"{head} · seed {outcome.seed}",
        f"keywords: {', '.join(outcome.keywords[:8])}" if outcome.keywords else "",
        f"parameters: {varied}" if varied else "",
        f"identity {outcome.identity_score:.2f}" if outcome.identity_score is not None else "",
        f"{outcome.seconds:.1f} s" if outcome.seconds is not None else "",
        note,
    ]
    return text.message("\n".join(p for p in parts if p))


def preview(data: bytes) -> bytes:
    """A JPEG, downscaled: what fits a guild whose upload limit the PNG exceeds."""
    with Image.open(io.BytesIO(data)) as image:
        image = image.convert("RGB")
        image.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=85, optimize=True)
    return out.getvalue()


async def _attachment(card: ResultCard, upload_limit: int) -> tuple[list[nextcord.File], str]:
    if not card.outcome.succeeded:
        return [], ""
    data = await db(generation_selectors.job_result_bytes, card.outcome.id)
    name = str(card.outcome.id)[:8]
    if len(data) <= upload_limit:
        return [nextcord.File(io.BytesIO(data), filename=f"{name}.png")], ""
    small = await build(preview, data)  # seconds of decoding: not in the lookups' pool
    note = (
        f"preview: the PNG ({len(data) / 2**20:.1f} MB) is over this server's upload limit; "
        "Save keeps it as a production, in full, in the admin"
    )
    return [nextcord.File(io.BytesIO(small), filename=f"{name}-preview.jpg")], note


async def post_result(channel, card: ResultCard, handler: ButtonHandler, upload_limit: int):
    """Send the result once, record its message id at once, then decorate (best effort)."""
    files, note = await _attachment(card, upload_limit)
    view = ResultView(card.item_id, handler) if card.outcome.succeeded else None
    try:
        message = await channel.send(
            result_text(card, note), files=files, view=view, allowed_mentions=nextcord.AllowedMentions.none()
        )
    except nextcord.Forbidden as refused:
        raise CannotPost(f"Discord refused the result ({refused.text or refused.status})") from refused
    await db(services.result_posted, item_id=card.item_id, message_id=message.id)
    if card.outcome.succeeded:
        await _react(message)
    return message


async def _react(message) -> None:
    for emoji in (SAVE, HIDE):
        try:
            await message.add_reaction(emoji)
        except nextcord.HTTPException as error:  # no Add Reactions here: the buttons are enough
            logger.info("reactions not added", extra={"message_id": message.id, "status": error.status})
            return


def upload_limit_of(channel) -> int:
    """The channel's guild's limit; Discord's smallest (10 MiB) for a DM or a guild not in the cache."""
    return getattr(getattr(channel, "guild", None), "filesize_limit", 10 * 2**20)
