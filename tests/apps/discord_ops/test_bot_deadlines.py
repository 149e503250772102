"""Discord's 3 seconds: a 200-job /test_face_mecene is acknowledged in time (the local server refuses a
late acknowledgement, as Discord does), and /set's autocomplete answers while the jobs are being built.
The figures are recorded (pytest's record_property, and printed with -s); the deadline asserted is
Discord's own (3 s, enforced by the server), and autocomplete is shown not to wait for the build (it keeps
answering while the build runs). Every command is acknowledged in time even while the lookups' pool is
taken by slow work."""

import threading
import time

import pytest
from asgiref.sync import sync_to_async

from apps.discord_ops import services
from apps.discord_ops.bot import db as bot_db
from apps.discord_ops.models import SessionItem
from tests.apps.discord_ops.bot_fixtures import OPERATOR_ID

pytestmark = pytest.mark.django_db(transaction=True)
IDEAS = "calm,bold,warm,cool,soft"  # 2 faces × 5 ideas × 20 = 200 jobs


async def test_a_200_job_session_is_acknowledged_in_time_and_autocomplete_answers_meanwhile(
    start_bot, discord_server, operator, faces_dir, record_property
):
    await sync_to_async(services.folder_import)(name="team", directory=faces_dir)
    bot = await start_bot()
    channel = discord_server.add_channel()
    await bot.answered(
        bot.command("set", user_id=OPERATOR_ID, channel_id=channel, parameter="steps", value="3")
    )

    started = time.monotonic()
    command = bot.command(
        "test_face_mecene",
        user_id=OPERATOR_ID,
        channel_id=channel,
        face_folders="team",
        generations_per_input=20,
        ideas=IDEAS,
    )
    record = await bot.answered(command)
    acknowledged = record.acknowledged_after
    autocompletes = []
    while not (record.response or {}).get("_message_id") or not _content(discord_server, record):
        # while the 200 jobs are being built
        hint = await bot.answered(
            bot.autocomplete(
                "set", focused="value", user_id=OPERATOR_ID, channel_id=channel, parameter="steps", value=""
            )
        )
        autocompletes.append(hint.acknowledged_after)
        assert [c["value"] for c in hint.response["choices"]][0] == "3"
    built = time.monotonic() - started
    reply = (await bot.reply(command))["content"]

    record_property("ack_seconds", round(acknowledged, 3))
    record_property("autocomplete_seconds_max", round(max(autocompletes), 3))
    record_property("build_seconds", round(built, 2))
    print(
        f"\n200-job /test_face_mecene: acknowledged after {acknowledged:.3f} s; {len(autocompletes)} "
        f"autocompletes during the build, slowest {max(autocompletes):.3f} s; built in {built:.2f} s"
        f" (slowest five: {[round(s, 3) for s in sorted(autocompletes)[-5:]]})"
    )
    assert record.response_type == 5  # deferred, then the follow-up
    assert reply.startswith("session ") and "200 generation(s) queued" in reply
    # Not blocked behind the build: one autocomplete waiting for it would be the only one asked before
    # the reply. (Its seconds are recorded above, not asserted: a loaded CI machine would make a clock
    # flaky, and Discord's own 3 s are enforced by the server for every answer.)
    assert len(autocompletes) >= 5
    assert discord_server.violations == []  # nothing late, nothing answered twice
    assert await sync_to_async(SessionItem.objects.count)() == 200


def _content(server, record) -> str:
    return server.messages[record.response["_message_id"]]["content"]


async def test_every_command_is_acknowledged_in_time_while_the_lookups_pool_is_busy(
    start_bot, discord_server, operator, faces_dir
):
    await sync_to_async(services.folder_import)(name="team", directory=faces_dir)
    bot = await start_bot()
    channel = discord_server.add_channel()

    async def while_busy(payload: dict):
        """The interaction's record, the lookups' pool taken by 3.5 s of other work when it came."""
        release = threading.Event()
        for _ in range(bot_db.QUICK._max_workers):
            bot_db.QUICK.submit(release.wait, 3.5)
        try:
            return await bot.answered(payload(), timeout=10)
        finally:
            release.set()

    # a private command (deferred first), a session's (deferred once the lookup is late), /cancel
    record = await while_busy(
        lambda: bot.command("set", user_id=OPERATOR_ID, channel_id=channel, parameter="steps", value="3")
    )
    assert record.response_type == 5 and record.acknowledged_after < 3.0
    assert await bot.private(_payload(discord_server, record)) == "steps = 3 (working set v1)"
    record = await while_busy(
        lambda: bot.command(
            "generate", user_id=OPERATOR_ID, channel_id=channel, idea="calm", face_folder="team"
        )
    )
    assert record.response_type == 5 and record.acknowledged_after < 3.0
    assert (await bot.reply(_payload(discord_server, record)))["content"].endswith("2 generation(s) queued")
    record = await while_busy(
        lambda: bot.command("cancel", user_id=OPERATOR_ID, channel_id=channel, session=999)
    )
    assert record.response_type == 5 and record.acknowledged_after < 3.0
    assert (await bot.reply(_payload(discord_server, record)))["content"] == "You have no session 999."
    assert discord_server.violations == []


def _payload(server, record) -> dict:
    return {"id": str(next(i for i, r in server.interactions.items() if r is record))}
