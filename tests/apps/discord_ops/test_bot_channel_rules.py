"""What real channels do to the bot, through nextcord against the local Discord server: reactions
refused, passes that raise, permissions missing, images over the upload limit, inputs over 2,000
characters, a channel that refuses the bot altogether, rate limits."""

import aiohttp
import pytest
from asgiref.sync import sync_to_async
from django.db import InterfaceError

from apps.discord_ops import selectors, services
from apps.discord_ops.models import SessionItem, TestSession
from tests.apps.discord_ops import discord_server as discord
from tests.apps.discord_ops.bot_fixtures import OPERATOR_ID, finish, finish_all, noise_png, session_on
from tests.apps.discord_ops.harness import eventually

pytestmark = pytest.mark.django_db(transaction=True)
NO_REACTIONS = discord.EVERYTHING & ~discord.REACT & ~discord.HISTORY


@pytest.fixture
async def team(operator, faces_dir):
    await sync_to_async(services.folder_import)(name="team", directory=faces_dir)
    return operator


async def _finished_session(channel, operator, **kwargs):
    def make():
        session = session_on(channel, operator)
        finish_all(session, **kwargs)
        return session

    return await sync_to_async(make)()


async def test_refused_reactions_still_make_one_post_per_result(start_bot, discord_server, team):
    bot = await start_bot()
    channel = discord_server.add_channel(NO_REACTIONS)
    await _finished_session(channel, team)
    for _ in range(3):
        await bot.cog.follower.run_pass()
    results = [m for m in discord_server.channel_messages(channel) if m["attachments"]]
    assert len(results) == 2  # one post each, not one per pass
    assert discord_server.reactions == []
    assert any("missing READ_MESSAGE_HISTORY, ADD_REACTIONS" in v for v in discord_server.violations)


async def test_a_pass_that_raises_does_not_stop_the_loop(start_bot, discord_server, team, monkeypatch):
    channel = discord_server.add_channel()
    session = await _finished_session(channel, team)
    faults = [InterfaceError("connection already closed"), OSError("result image missing")]
    real = selectors.unposted_results

    def unposted_results(session_id):
        if faults:
            raise faults.pop(0)
        return real(session_id)

    monkeypatch.setattr(selectors, "unposted_results", unposted_results)
    bot = await start_bot(follow=True)
    bot.cog.follow_sessions.change_interval(seconds=0.05)
    end = f"session {session.pk} finished"
    await eventually(lambda: any(end in m["content"] for m in discord_server.channel_messages(channel)))
    assert bot.cog.follow_sessions.is_running() and not faults  # it ran through both faults
    bot.cog.follow_sessions.cancel()
    await eventually(lambda: not bot.cog.follow_sessions.is_running())
    assert len([m for m in discord_server.channel_messages(channel) if m["attachments"]]) == 2
    assert bot.cog.follower.failures[session.pk] == 2  # both logged and counted
    refreshed = await sync_to_async(TestSession.objects.get)(pk=session.pk)
    assert refreshed.failed_passes == 0 and refreshed.stalled_at is None  # a good pass resets the count


async def test_a_session_failing_pass_after_pass_is_stalled_and_the_operator_told_once(
    start_bot, discord_server, team, monkeypatch
):
    bot = await start_bot()
    channel = discord_server.add_channel()
    session = await _finished_session(channel, team)

    def broken(session_id):
        raise OSError("storage unreachable")

    monkeypatch.setattr(selectors, "unposted_results", broken)
    for _ in range(services.STALL_AFTER_FAILED_PASSES + 2):
        await bot.cog.follower.run_pass()
    said = [m["content"] for m in discord_server.channel_messages(channel)]
    assert len(said) == 1 and said[0].startswith(
        f"<@{OPERATOR_ID}> Session {session.pk} is no longer reported"
    )
    assert "storage (result images could not be read; tell a Narcis admin)" in said[0]
    assert "unreachable" not in said[0] and "OSError" not in said[0]  # the exception's text: the log's
    stalled = await sync_to_async(TestSession.objects.get)(pk=session.pk)
    assert stalled.stall_reason == "OSError: storage unreachable"  # and the admin's
    assert (await sync_to_async(TestSession.objects.get)(pk=session.pk)).stalled_at is not None


async def test_a_channel_that_refuses_the_bot_stalls_the_session_and_the_operator_gets_a_dm(
    start_bot, discord_server, team
):
    bot = await start_bot()
    channel = discord_server.add_channel(discord.VIEW)  # may see, may not send
    session = await _finished_session(channel, team)
    for _ in range(3):
        await bot.cog.follower.run_pass()
    sends = [v for v in discord_server.violations if v.startswith("send:")]
    assert len(sends) == 1 and "missing SEND_MESSAGES" in sends[0]  # tried once, not every 2 s forever
    dm = discord_server.dm_channels[OPERATOR_ID]
    told = discord_server.channel_messages(dm)
    assert len(told) == 1 and f"Session {session.pk} is no longer reported here" in told[0]["content"]
    assert "Discord refused the result: a missing permission in that channel" in told[0]["content"]


async def test_missing_permissions_are_named_in_an_ephemeral_refusal(start_bot, discord_server, team):
    bot = await start_bot()
    channel = discord_server.add_channel(discord.VIEW | discord.SEND)
    record = await bot.answered(
        bot.command("generate", user_id=OPERATOR_ID, channel_id=channel, idea="calm", face_folder="team")
    )
    assert record.response["flags"] & 64
    said = record.response["content"]
    assert "missing Attach Files, Embed Links, Add Reactions, Read Message History" in said
    assert not await sync_to_async(SessionItem.objects.exists)()  # nothing queued


async def test_an_image_over_the_upload_limit_is_posted_as_a_preview(start_bot, discord_server, team):
    bot = await start_bot()
    channel = discord_server.add_channel()
    big = await sync_to_async(noise_png)(3000)  # 27 MB: over the 25 MiB of a guild at tier 0
    assert len(big) > discord.UPLOAD_LIMIT
    session = await sync_to_async(session_on)(channel, team)
    item = await sync_to_async(SessionItem.objects.filter(session=session).select_related("job").first)()
    await sync_to_async(finish)(item.job, image=big)
    await bot.cog.follower.run_pass()
    preview = next(m for m in discord_server.channel_messages(channel) if m["content"].startswith("#1"))
    (attachment,) = preview["attachments"]
    assert attachment["filename"].endswith("-preview.jpg") and attachment["size"] < 2 * 2**20
    assert "over this server's upload limit" in preview["content"]
    assert not [v for v in discord_server.violations if "over the limit" in v]


async def test_a_2100_character_value_is_refused_in_under_2000_characters(start_bot, discord_server, team):
    bot = await start_bot()
    channel = discord_server.add_channel()
    for parameter in ("steps", "x" * 2100):
        said = await bot.private(
            bot.command("set", user_id=OPERATOR_ID, channel_id=channel, parameter=parameter, value="9" * 2100)
        )
        assert len(said) < 2000
        assert "9" * 100 not in said and "x" * 100 not in said  # not echoed whole
    assert discord_server.violations == []


async def test_a_rate_limited_post_is_retried_after_retry_after(start_bot, discord_server, team):
    bot = await start_bot()
    channel = discord_server.add_channel()
    await _finished_session(channel, team)
    discord_server.rate_limit_once("POST", f"/channels/{channel}/messages", retry_after=0.2)
    await bot.cog.follower.run_pass()
    assert discord_server.rate_limited == [f"POST /api/v10/channels/{channel}/messages"]
    assert len([m for m in discord_server.channel_messages(channel) if m["attachments"]]) == 2


async def test_discord_being_unreachable_never_stalls_a_session(start_bot, discord_server, team, monkeypatch):
    bot = await start_bot()
    channel = discord_server.add_channel()
    session = await _finished_session(channel, team)

    def unreachable(session_id):
        raise aiohttp.ClientConnectionError("Cannot connect to host discord.com:443")

    monkeypatch.setattr(selectors, "unposted_results", unreachable)
    for _ in range(services.STALL_AFTER_FAILED_PASSES + 2):
        await bot.cog.follower.run_pass()
    refreshed = await sync_to_async(TestSession.objects.get)(pk=session.pk)
    assert refreshed.stalled_at is None and discord_server.channel_messages(channel) == []
    assert bot.cog.follower.failures[session.pk] == services.STALL_AFTER_FAILED_PASSES + 2  # still logged
