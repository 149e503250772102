"""The loop that follows sessions: posts results as they end, edits each session's progress message,
announces the end. Each session's pass is isolated: whatever it raises is logged with the session id
and counted, the loop goes on; a session whose passes fail STALL_AFTER_FAILED_PASSES times in a row,
or whose channel refuses the bot, is stalled and its operator told once, in words (what went wrong,
what to do); the exception's own text goes to the log and the admin (stall_reason) only.

At most POSTS_PER_PASS results per session per pass: a 200-result session does not hold the others up.
A result sent whose message id could not be recorded stays in `pending` (never sent again) and is
recorded before anything else is posted."""

from __future__ import annotations

import logging
from collections import Counter

import aiohttp
import nextcord
from django.db import DatabaseError

from apps.discord_ops import selectors, services
from apps.discord_ops.bot import text
from apps.discord_ops.bot.db import db, image_io
from apps.discord_ops.bot.results import CannotPost, post_result, refusal, upload_limit_of
from apps.discord_ops.progress import ProgressEditor, progress_text

logger = logging.getLogger("narcis.ops.bot")

# Discord unreachable or failing (5xx): not this session's fault, never a reason to stop following it.
DISCORD_UNAVAILABLE = (nextcord.DiscordServerError, aiohttp.ClientError, TimeoutError)
POSTS_PER_PASS = 5  # results posted per session per pass


class SessionFollower:
    def __init__(self, bot):
        self.bot = bot
        self.editors: dict[int, ProgressEditor] = {}
        self.failures: Counter[int] = Counter()  # session -> failed passes since the bot started
        self.passes = 0  # completed passes since the bot started
        self.pending: dict[int, int] = {}  # item -> message id: sent, the id not recorded yet

    async def run_pass(self) -> None:
        """One pass over every followed session; never raises (the tasks.loop would end)."""
        try:
            sessions = await db(selectors.sessions_to_follow)
        except Exception:
            logger.exception("sessions to follow not read")
            self.passes += 1
            return
        for session in sessions:
            await self.follow_isolated(session)
        self.passes += 1

    async def follow_isolated(self, session) -> None:
        """One session's pass; whatever it raises (stalling included) is logged and counted here."""
        try:
            try:
                await self.follow(session)
                if session.failed_passes:
                    await db(services.session_pass_succeeded, session_id=session.pk)
            except CannotPost as refused:
                await self._stall(session, refused.reason, in_channel=False)
        except Exception as error:
            await self._failed(session, error)

    async def _failed(self, session, error: Exception) -> None:
        self.failures[session.pk] += 1
        logger.exception(
            "session pass failed",
            extra={
                "session": session.pk,
                "error": type(error).__name__,
                "failures": self.failures[session.pk],
            },
        )
        if isinstance(error, DISCORD_UNAVAILABLE):  # Discord's side, for everyone: the next pass retries
            return
        try:
            if await db(services.session_pass_failed, session_id=session.pk, reason=_reason(error)):
                await self._tell(session, _stalled_text(session, what_went_wrong(error)), in_channel=True)
        except Exception:
            logger.exception("session failure not recorded", extra={"session": session.pk})

    async def _record_pending(self) -> None:
        """Results sent whose message id was not recorded (the write failed): recorded now, first."""
        for item_id, message_id in list(self.pending.items()):
            await db(services.result_posted, item_id=item_id, message_id=message_id)
            self.pending.pop(item_id, None)

    async def follow(self, session) -> None:
        await self._record_pending()
        channel = await self._channel(session)
        unposted = await db(selectors.unposted_results, session.pk)
        unposted = [card for card in unposted if card.item_id not in self.pending]
        for card in unposted[:POSTS_PER_PASS]:
            await post_result(channel, card, upload_limit_of(channel), self.pending)
        await image_io(services.productions_for_finished, session=session)  # copies images
        summary = await db(selectors.session_summary, session)
        finished = summary.finished and len(unposted) <= POSTS_PER_PASS  # and every result posted
        editor = self.editors.setdefault(session.pk, ProgressEditor())
        shown = editor.take(progress_text(summary))
        if finished:
            shown = editor.flush() or shown
        if shown is not None:
            await self._edit_progress(channel, session, shown)
        if finished and await db(services.session_announced, session_id=session.pk):
            await self._announce(channel, session, summary)
            self.editors.pop(session.pk, None)

    async def _channel(self, session):
        channel_id = int(session.channel_id)
        try:
            return self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)
        except nextcord.Forbidden as refused:
            raise CannotPost(refusal(refused, f"the bot's view of channel {channel_id}")) from refused

    async def _edit_progress(self, channel, session, shown: str) -> None:
        """The command's own reply is the progress message, edited in place (through the channel: no
        15-minute interaction token); a new one when it is gone."""
        if session.progress_message_id:
            try:
                await channel.get_partial_message(int(session.progress_message_id)).edit(
                    content=text.message(shown)
                )
                return
            except (nextcord.NotFound, nextcord.Forbidden):  # deleted, or not editable: a new one
                pass
        try:
            message = await channel.send(text.message(shown))
        except nextcord.Forbidden as refused:
            raise CannotPost(refusal(refused, "the progress message")) from refused
        session.progress_message_id = str(message.id)
        await db(services.progress_message_set, session_id=session.pk, message_id=message.id)

    async def _announce(self, channel, session, summary) -> None:
        who = f"<@{session.discord_user_id}> " if session.discord_user_id else ""
        parts = [f"{summary.done} succeeded", f"{summary.failed} failed"]
        if summary.canceled:
            parts.append(f"{summary.canceled} canceled")
        if summary.best_identity is not None:
            parts.append(f"best identity {summary.best_identity:.2f}")
        link = ""
        if summary.first_result_message_id and getattr(channel, "guild", None):
            first = text.message_link(channel.guild.id, channel.id, summary.first_result_message_id)
            link = f" · first result: {first}"
        said = f"{who}session {session.pk} finished: {', '.join(parts)}{link}"
        await channel.send(text.message(said), allowed_mentions=nextcord.AllowedMentions(users=True))

    async def _stall(self, session, reason: str, *, in_channel: bool) -> None:
        if await db(services.session_stall, session_id=session.pk, reason=reason):
            await self._tell(session, _stalled_text(session, reason), in_channel=in_channel)

    async def _tell(self, session, said: str, *, in_channel: bool) -> None:
        """Once: in the session's channel when it works, else by DM to whoever started the session."""
        said = text.message(said)
        if in_channel:
            try:
                channel = await self._channel(session)
                mention = f"<@{session.discord_user_id}> " if session.discord_user_id else ""
                await channel.send(mention + said, allowed_mentions=nextcord.AllowedMentions(users=True))
                return
            except (nextcord.HTTPException, CannotPost):
                pass
        if not session.discord_user_id:
            logger.warning("operator not told: no Discord user", extra={"session": session.pk})
            return
        try:
            user = self.bot.get_user(int(session.discord_user_id)) or await self.bot.fetch_user(
                int(session.discord_user_id)
            )
            await user.send(said)
        except nextcord.HTTPException:
            logger.warning("operator not told: DM refused", extra={"session": session.pk})


def _reason(error: Exception) -> str:
    """For the log and the admin (stall_reason): the exception as it was."""
    return f"{type(error).__name__}: {error}"[:300]


def what_went_wrong(error: Exception) -> str:
    """For the operator: the kind of failure and what to do, never the exception's text."""
    if isinstance(error, DatabaseError):
        return "our database did not answer (tell a Narcis admin if it lasts)"
    if isinstance(error, OSError):
        return "storage (result images could not be read; tell a Narcis admin)"
    if isinstance(error, nextcord.Forbidden):
        return refusal(error, "the bot")
    return "an error on our side (a Narcis admin finds it in the bot's log under this session)"


def _stalled_text(session, what: str) -> str:
    return (
        f"Session {session.pk} is no longer reported here: {text.cut(what, 400)}. Its jobs keep "
        f"painting; see them with `manage.py ops sessions` or the admin, or /cancel {session.pk}."
    )
