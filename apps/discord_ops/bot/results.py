"""A finished result on the channel: its text, its image (a JPEG preview when the PNG is over the
guild's upload limit; a line saying so when storage lost it), its buttons. Posted exactly once: the message
id is kept in the follower's `pending` the moment `send` returns and recorded at once (the follower
records it again before posting anything else when that write failed), and the 💾/❌ reactions (a
fallback for the buttons) are a separate best-effort step."""

from __future__ import annotations

import io
import logging

import nextcord
from PIL import Image

from apps.discord_ops import services
from apps.discord_ops.bot import text
from apps.discord_ops.bot.db import build, db, image_io
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
ACTIONS = frozenset(action for action, _, _ in BUTTONS)


def custom_id(action: str, item_id: int) -> str:
    return f"narcis:{action}:{item_id}"


def parse_custom_id(value: str) -> tuple[str, int] | None:
    """(action, item id) of one of our buttons' custom_id, None for anything else."""
    prefix, _, rest = (value or "").partition(":")
    action, _, item = rest.partition(":")
    if prefix != "narcis" or action not in ACTIONS or not item.isdigit():
        return None
    return action, int(item)


class ResultView(nextcord.ui.View):
    """The buttons under one result: only their layout. A press is answered by the cog's one listener
    that reads `narcis:<action>:<item id>` (any result, however old, after any restart), so the view is
    not kept in nextcord's view store (prevent_update=False) and nothing is registered at start."""

    def __init__(self, item_id: int):
        super().__init__(timeout=None, auto_defer=False, prevent_update=False)
        for action, label, style in BUTTONS:
            self.add_item(nextcord.ui.Button(label=label, style=style, custom_id=custom_id(action, item_id)))


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


IMAGE_MISSING = "image missing: storage lost it (tell a Narcis admin; the job is in the admin)"


async def _attachment(card: ResultCard, upload_limit: int) -> tuple[list[nextcord.File], str]:
    """The files to send and a note; no file and IMAGE_MISSING when storage lost the image (that result
    alone: the others of the session are posted as usual)."""
    if not card.outcome.succeeded:
        return [], ""
    try:
        data = await image_io(generation_selectors.job_result_bytes, card.outcome.id)
    except FileNotFoundError:
        logger.warning("result image missing", extra={"session": card.session_id, "item": card.item_id})
        return [], IMAGE_MISSING
    name = str(card.outcome.id)[:8]
    if len(data) <= upload_limit:
        return [nextcord.File(io.BytesIO(data), filename=f"{name}.png")], ""
    small = await build(preview, data)  # seconds of decoding: not in the lookups' pool
    note = (
        f"preview: the PNG ({len(data) / 2**20:.1f} MB) is over this server's upload limit; "
        "Save keeps it as a production, in full, in the admin"
    )
    return [nextcord.File(io.BytesIO(small), filename=f"{name}-preview.jpg")], note


async def post_result(channel, card: ResultCard, upload_limit: int, pending: dict[int, int]):
    """Send the result once; its message id goes into `pending` the moment it exists, is recorded, and
    leaves `pending` once recorded (a failed record raises with the id still there); then decorate."""
    files, note = await _attachment(card, upload_limit)
    shown = card.outcome.succeeded and note != IMAGE_MISSING
    try:
        message = await channel.send(
            result_text(card, note),
            files=files or None,  # an empty list is sent as a form without a file: not Discord's shape
            view=ResultView(card.item_id) if shown else None,
            allowed_mentions=nextcord.AllowedMentions.none(),
        )
    except nextcord.Forbidden as refused:
        raise CannotPost(refusal(refused, "the result")) from refused
    pending[card.item_id] = message.id
    await db(services.result_posted, item_id=card.item_id, message_id=message.id)
    pending.pop(card.item_id, None)
    if shown:
        await _react(message)
    return message


def refusal(refused: nextcord.HTTPException, what: str) -> str:
    """What Discord refused, for the operator, in words (not the exception's text)."""
    if getattr(refused, "code", None) == 50013:
        return (
            f"Discord refused {what}: a missing permission in that channel (the bot needs View Channel, "
            "Send Messages, Attach Files, Embed Links, Add Reactions and Read Message History there)"
        )
    if getattr(refused, "code", None) == 50001:
        return f"Discord refused {what}: the bot has no access to that channel"
    return f"Discord refused {what} (HTTP {refused.status})"


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
