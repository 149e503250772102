"""The follow loop against what goes wrong while it follows, through nextcord and the local Discord server:
a session still being built or whose build failed, a database refusing the stall or the record of a
post, a start-up with the database failing, a hidden result, a lost image, one very large session."""

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from apps.discord_ops import selectors, services
from apps.discord_ops.bot.follow import POSTS_PER_PASS
from apps.discord_ops.models import FacePhoto, SessionItem, TestSession
from apps.discord_ops.services import sessions
from tests.apps.discord_ops import discord_server as discord
from tests.apps.discord_ops.bot_fixtures import (
    OPERATOR_ID,
    FailingWrites,
    finish,
    finish_all,
    session_on,
)
from tests.apps.discord_ops.harness import eventually

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def team(operator, faces_dir):
    await sync_to_async(services.folder_import)(name="team", directory=faces_dir)
    return operator


def _said(server, channel) -> list[str]:
    return [m["content"] for m in server.channel_messages(channel)]


def _results(server, channel) -> list[dict]:
    return [m for m in server.channel_messages(channel) if m["content"].startswith("#")]


# ---- 1. a session is followed once it is built, and "finished" needs a job ----


async def test_a_session_still_being_built_is_not_followed_nor_announced(start_bot, discord_server, team):
    bot = await start_bot()
    channel = discord_server.add_channel()

    def opened():  # the build's first step, as session_create takes it: the row, no job yet
        return sessions._open_session(
            team, kind="test", spec={}, channel_id=str(channel), discord_user_id="1001"
        )

    session = await sync_to_async(opened)()
    for _ in range(2):
        await bot.cog.follower.run_pass()
    assert _said(discord_server, channel) == []
    assert not (await sync_to_async(selectors.session_summary)(session)).finished
    assert (await sync_to_async(TestSession.objects.get)(pk=session.pk)).announced_at is None


async def test_a_session_whose_build_failed_is_never_announced(start_bot, discord_server, team):
    bot = await start_bot()
    channel = discord_server.add_channel()
    first = await sync_to_async(FacePhoto.objects.get)(name="astronaut")
    await sync_to_async(first.image.delete)(save=False)  # storage lost the first face: the build fails
    command = bot.command(
        "test_face_mecene",
        user_id=OPERATOR_ID,
        channel_id=channel,
        face_folders="team",
        generations_per_input=1,
    )
    reply = await bot.reply(command)
    assert reply["content"].startswith("Something went wrong on our side: no session was created")
    for _ in range(2):
        await bot.cog.follower.run_pass()
    assert _said(discord_server, channel) == [reply["content"]]  # no "finished: 0 succeeded"
    session = await sync_to_async(TestSession.objects.get)()
    assert session.canceled_at is not None and session.built_at is None and session.announced_at is None


# ---- 2. whatever a session's pass raises, stalling included, the loop goes on ----


async def test_a_database_error_while_stalling_does_not_end_the_loop(start_bot, discord_server, team):
    channel = discord_server.add_channel(discord.VIEW)  # may see, may not send: the session is stalled
    session = await sync_to_async(session_on)(channel, team)
    await sync_to_async(finish_all)(session)
    refusing = await sync_to_async(FailingWrites("discord_ops_testsession", "stalled_at").start)()
    bot = await start_bot(follow=True)
    bot.cog.follow_sessions.change_interval(seconds=0.05)
    await eventually(lambda: bot.cog.follower.failures[session.pk] >= 3)  # the stall itself fails
    assert bot.cog.follow_sessions.is_running()
    await sync_to_async(refusing.heal)()
    dm = await eventually(lambda: discord_server.dm_channels.get(OPERATOR_ID))
    told = await eventually(lambda: discord_server.channel_messages(dm))
    assert len(told) == 1 and f"Session {session.pk} is no longer reported here" in told[0]["content"]
    assert bot.cog.follow_sessions.is_running()
    assert (await sync_to_async(TestSession.objects.get)(pk=session.pk)).stalled_at is not None


# ---- 3. a database failing at start-up: the loop starts, buttons work ----


async def test_a_database_failing_at_start_up_still_starts_the_loop_and_the_buttons(
    start_bot, discord_server, team
):
    channel = discord_server.add_channel()
    session = await sync_to_async(session_on)(channel, team)
    await sync_to_async(finish_all)(session)
    first = await start_bot()
    await first.cog.follower.run_pass()
    posted = _results(discord_server, channel)
    assert len(posted) == 2

    def rename(old, new):
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {old} RENAME TO {new}")

    await sync_to_async(rename)("discord_ops_sessionitem", "discord_ops_sessionitem_away")
    try:
        restarted = await start_bot(follow=True)  # its start-up reads fail: no such table
        assert restarted.cog.follow_sessions.is_running()
    finally:
        await sync_to_async(rename)("discord_ops_sessionitem_away", "discord_ops_sessionitem")
    parameters = next(c for c in posted[0]["components"][0]["components"] if c["label"] == "Parameters")
    record = await restarted.answered(
        restarted.press(parameters["custom_id"], message=posted[0], user_id=OPERATOR_ID), followups=1
    )
    assert discord_server.messages[record.followups[0]]["content"].startswith("seed ")


# ---- 4. a post whose record failed is recorded, never posted again ----


async def test_a_post_whose_message_id_could_not_be_recorded_is_not_posted_again(
    start_bot, discord_server, team
):
    bot = await start_bot()
    channel = discord_server.add_channel()
    session = await sync_to_async(session_on)(channel, team)
    await sync_to_async(finish_all)(session)
    refusing = await sync_to_async(FailingWrites("discord_ops_sessionitem", "result_message_id").start)()
    await bot.cog.follower.run_pass()  # sent, then the record fails
    assert len(_results(discord_server, channel)) == 1 and bot.cog.follower.failures[session.pk] == 1
    await sync_to_async(refusing.heal)()
    for _ in range(3):
        await bot.cog.follower.run_pass()
    results = _results(discord_server, channel)
    assert len(results) == 2  # one post per result, not a second one of the first
    recorded = await sync_to_async(
        lambda: list(SessionItem.objects.order_by("position").values_list("result_message_id", flat=True))
    )()
    assert recorded == [m["id"] for m in results] and bot.cog.follower.pending == {}


# ---- 5. a hidden result leaves the summary ----


async def test_a_hidden_result_is_left_out_of_the_summary(start_bot, discord_server, team):
    bot = await start_bot()
    channel = discord_server.add_channel()
    session = await sync_to_async(session_on)(channel, team)
    items = await sync_to_async(
        lambda: list(SessionItem.objects.order_by("position").select_related("job"))
    )()
    await sync_to_async(finish)(items[0].job, score=0.93)
    await bot.cog.follower.run_pass()
    (first,) = _results(discord_server, channel)
    hide = next(c for c in first["components"][0]["components"] if c["label"] == "Hide")
    await bot.answered(bot.press(hide["custom_id"], message=first, user_id=OPERATOR_ID), followups=1)
    await sync_to_async(finish)(items[1].job, score=0.61)
    await bot.cog.follower.run_pass()
    (second,) = _results(discord_server, channel)  # the first was deleted
    end = next(m for m in _said(discord_server, channel) if f"session {session.pk} finished" in m)
    assert "1 succeeded, 0 failed, best identity 0.61" in end
    assert end.endswith(f"/{channel}/{second['id']}")  # the link: a result still there
    (progress,) = [m for m in _said(discord_server, channel) if m.startswith(f"session {session.pk} [")]
    assert "1/1 · 1 done" in progress


# ---- 7. one lost image, one very large session ----


async def test_a_missing_result_image_is_said_for_that_result_alone(start_bot, discord_server, team):
    bot = await start_bot()
    channel = discord_server.add_channel()
    session = await sync_to_async(session_on)(channel, team)
    await sync_to_async(finish_all)(session)

    def lose_first_image():
        item = SessionItem.objects.order_by("position").select_related("job").first()
        item.job.result_image.storage.delete(item.job.result_image.name)

    await sync_to_async(lose_first_image)()
    await bot.cog.follower.run_pass()
    first, second = _results(discord_server, channel)
    assert "image missing" in first["content"] and not first["attachments"] and not first["components"]
    assert second["attachments"]
    assert any(f"session {session.pk} finished" in m for m in _said(discord_server, channel))
    assert bot.cog.follower.failures[session.pk] == 0
    assert not await sync_to_async(SessionItem.objects.filter(result_message_id="").exists)()


async def test_a_large_session_does_not_hold_the_others_up(start_bot, discord_server, team):
    bot = await start_bot()
    big_channel, small_channel = discord_server.add_channel(), discord_server.add_channel()
    big = await sync_to_async(session_on)(big_channel, team, per_input=6)  # 12 results
    small = await sync_to_async(session_on)(small_channel, team)
    await sync_to_async(finish_all)(big)
    await sync_to_async(finish_all)(small)
    await bot.cog.follower.run_pass()
    assert len(_results(discord_server, big_channel)) == POSTS_PER_PASS
    assert len(_results(discord_server, small_channel)) == 2
    assert not any(f"session {big.pk} finished" in m for m in _said(discord_server, big_channel))
    for _ in range(3):
        await bot.cog.follower.run_pass()
    assert len(_results(discord_server, big_channel)) == 12
    ends = [m for m in _said(discord_server, big_channel) if f"session {big.pk} finished" in m]
    assert len(ends) == 1 and "12 succeeded" in ends[0]
