"""The loop that follows sessions: posts results as they end, edits each session's progress message,
announces the end. Each session's pass is isolated: whatever it raises is logged with the session id
and counted, the loop goes on; a session whose passes fail STALL_AFTER_FAILED_PASSES times in a row,
or whose channel refuses the bot, is stalled and its operator told once."""

from __future__ import annotations

import logging
from collections import Counter

import aiohttp
import nextcord

from apps.discord_ops import selectors, services
from apps.discord_ops.bot import text
from apps.discord_ops.bot.db import db
from apps.discord_ops.bot.results import ButtonHandler, CannotPost, post_result, upload_limit_of
from apps.discord_ops.progress import ProgressEditor, progress_text

logger = logging.getLogger("narcis.ops.bot")

# Discord unreachable or failing (5xx): not this session's fault, never a reason to stop following it.
DISCORD_UNAVAILABLE = (nextcord.DiscordServerError, aiohttp.ClientError, TimeoutError)


class SessionFollower:
    def __init__(self, bot, handler: ButtonHandler):
        self.bot, self.handler = bot, handler
        self.editors: dict[int, ProgressEditor] = {}
        self.failures: Counter[int] = Counter()  # session -> failed passes since the bot started
        self.passes = 0  # completed passes since the bot started

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
        try:
            await self.follow(session)
            if session.failed_passes:
                await db(services.session_pass_succeeded, session_id=session.pk)
        except CannotPost as refused:
            await self._stall(session, refused.reason, in_channel=False)
        except Exception as error:
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
                    await self._tell(session, _stalled_text(session, _reason(error)), in_channel=True)
            except Exception:
                logger.exception("session failure not recorded", extra={"session": session.pk})

    async def follow(self, session) -> None:
        channel = await self._channel(session)
        for card in await db(selectors.unposted_results, session.pk):
            await post_result(channel, card, self.handler, upload_limit_of(channel))
        await db(services.productions_for_finished, session=session)
        summary = await db(selectors.session_summary, session)
        editor = self.editors.setdefault(session.pk, ProgressEditor())
        shown = editor.take(progress_text(summary))
        if summary.finished:
            shown = editor.flush() or shown
        if shown is not None:
            await self._edit_progress(channel, session, shown)
        if summary.finished and await db(services.session_announced, session_id=session.pk):
            await self._announce(channel, session, summary)
            self.editors.pop(session.pk, None)

    async def _channel(self, session):
        channel_id = int(session.channel_id)
        try:
            return self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)
        except nextcord.Forbidden as refused:
            raise CannotPost(f"the bot cannot see channel {channel_id} ({refused.text})") from refused

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
            raise CannotPost(f"Discord refused the progress message ({refused.text})") from refused
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
            link = (
                f" · first result: https://discord.com/channels/{channel.guild.id}/{channel.id}/"
                f"{summary.first_result_message_id}"
            )
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
    return f"{type(error).__name__}: {error}"[:300]


def _stalled_text(session, reason: str) -> str:
    return (
        f"Session {session.pk} is no longer reported here: {text.cut(reason, 300)}. Its jobs keep "
        f"painting; see them with `manage.py ops sessions` or the admin, or /cancel {session.pk}."
    )
