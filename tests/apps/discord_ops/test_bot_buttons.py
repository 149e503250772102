"""The buttons under each result, pressed through the local Discord server after the bot restarted:
Save (once), Hide, Reroll, Rerun with my set, Parameters; anyone not an operator is refused."""

import pytest
from asgiref.sync import sync_to_async

from apps.discord_ops import services
from apps.discord_ops.models import Production, SessionItem
from apps.generation.models import GenerationJob
from tests.apps.discord_ops.bot_fixtures import OPERATOR_ID, STRANGER_ID, finish_all, session_on

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def posted(start_bot, discord_server, operator, faces_dir):
    """A finished session's two results posted by a first bot; then the bot restarted."""
    await sync_to_async(services.folder_import)(name="team", directory=faces_dir)
    channel = discord_server.add_channel()

    def make():
        session = session_on(channel, operator)
        finish_all(session)
        return session

    session = await sync_to_async(make)()
    first = await start_bot()
    await first.cog.follower.run_pass()
    results = [m for m in discord_server.channel_messages(channel) if m["attachments"]]
    assert len(results) == 2
    restarted = await start_bot()  # a new process: only bot.add_view at start knows the buttons
    return restarted, session, results


def _button(message: dict, label: str) -> str:
    return next(c["custom_id"] for c in message["components"][0]["components"] if c["label"] == label)


async def _press(bot, message, label, user_id=OPERATOR_ID):
    record = await bot.answered(
        bot.press(_button(message, label), message=message, user_id=user_id), followups=1
    )
    assert record.response_type == 5 and record.response.get("flags", 0) & 64  # deferred, ephemeral
    return bot.server.messages[record.followups[0]]


async def test_save_twice_makes_one_production_after_a_restart(posted):
    bot, _, results = posted
    said = await _press(bot, results[0], "Save")
    production = await sync_to_async(Production.objects.get)()
    assert said["content"] == f"saved as production {production.pk}" and said["flags"] & 64
    said = await _press(bot, results[0], "Save")
    assert said["content"] == f"already saved as production {production.pk}"
    assert await sync_to_async(Production.objects.count)() == 1
    assert production.saved_from_message.endswith(f"/{results[0]['channel_id']}/{results[0]['id']}")
    assert bot.server.violations == []


async def test_hide_deletes_the_message_and_marks_the_result_hidden(posted):
    bot, _, results = posted
    said = await _press(bot, results[1], "Hide")
    assert said["content"] == "hidden"
    assert int(results[1]["id"]) in bot.server.deleted
    item = await sync_to_async(SessionItem.objects.get)(result_message_id=results[1]["id"])
    assert item.hidden


async def test_reroll_and_rerun_queue_one_more_job_in_the_session(posted, operator):
    bot, session, results = posted
    await sync_to_async(services.params_set)(owner=operator, name="guidance_scale", value="6")
    said = await _press(bot, results[0], "Reroll")
    assert said["content"] == f"queued again with a new seed as #3 of session {session.pk}"
    said = await _press(bot, results[0], "Rerun with my set")
    assert said["content"] == f"queued again with your current set as #4 of session {session.pk}"
    items = await sync_to_async(list)(SessionItem.objects.filter(session=session).select_related("job"))
    original, _, reroll, rerun = items
    assert reroll.job.params["seed"] != original.job.params["seed"] and reroll.job.idea == original.job.idea
    assert reroll.job.params["guidance_scale"] == original.job.params["guidance_scale"]
    assert rerun.job.params["guidance_scale"] == 6.0 and rerun.face_id == original.face_id
    # The session (its end announced already) is followed again: the new results get posted.
    await sync_to_async(finish_all)(session)
    await bot.cog.follower.run_pass()
    posted = await sync_to_async(SessionItem.objects.exclude(result_message_id="").count)()
    assert posted == 4


async def test_parameters_are_told_privately(posted):
    bot, _, results = posted
    said = await _press(bot, results[0], "Parameters")
    job = await sync_to_async(GenerationJob.objects.get)(ops_item__result_message_id=results[0]["id"])
    assert said["flags"] & 64
    assert said["content"].startswith(f"seed {job.params['seed']} · identity 0.810")
    assert f"steps = {job.params['steps']}" in said["content"]


async def test_someone_not_an_operator_is_refused_every_button(posted):
    bot, _, results = posted
    for label in ("Save", "Hide", "Reroll", "Rerun with my set", "Parameters"):
        said = await _press(bot, results[0], label, user_id=STRANGER_ID)
        assert "not on the operators' list" in said["content"] and said["flags"] & 64
    assert not await sync_to_async(Production.objects.exists)()
    assert await sync_to_async(SessionItem.objects.count)() == 2 and not bot.server.deleted


def test_every_button_has_an_action():
    from apps.discord_ops.bot.actions import ACTIONS
    from apps.discord_ops.bot.results import BUTTONS

    assert [action for action, _, _ in BUTTONS] == list(ACTIONS)
