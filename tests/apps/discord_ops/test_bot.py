"""The Discord front-end without Discord: slash-command callbacks with fake interactions (AsyncMock
responses), reactions as RawReactionActionEvent-like payloads, the progress loop on a fake channel."""

from types import SimpleNamespace
from unittest.mock import AsyncMock, MagicMock

import pytest
from asgiref.sync import sync_to_async
from django.core.management import CommandError, call_command

from apps.discord_ops import models, services
from apps.discord_ops.bot.client import build_bot
from apps.discord_ops.bot.cog import HIDE, SAVE, handle_reaction
from apps.discord_ops.models import ParameterSet, Production, SessionItem
from tests.apps.discord_ops.test_services import _finish

pytestmark = pytest.mark.django_db(transaction=True)
OPERATOR_ID, STRANGER_ID, BOT_ID = 1001, 4242, 9


@pytest.fixture
async def cog():
    bot = build_bot([123])  # inside the test's event loop, as nextcord's client wants
    bot._connection.user = SimpleNamespace(id=BOT_ID)  # as if logged in
    return bot.get_cog("OpsCog")


def interaction(user_id: int = OPERATOR_ID, **data):
    fake = MagicMock()
    fake.user = SimpleNamespace(id=user_id, roles=[])
    fake.channel_id = 555
    fake.data = data
    fake.response = AsyncMock()
    return fake


def said(fake) -> tuple[str, bool]:
    call = fake.response.send_message.call_args
    return call.args[0], call.kwargs.get("ephemeral", False)


async def test_each_command_declares_its_options(cog):
    options = {
        command.name: {name: option.autocomplete for name, option in command.options.items()}
        for command in cog.application_commands
    }
    assert options["set"] == {"parameter": True, "value": True}
    assert options["reset"] == {"parameter": True}
    assert set(options["generate"]) == {"idea", "face_folder", "n"}
    assert set(options["test_face_mecene"]) == {"face_folders", "generations_per_input", "ideas"}
    assert set(options["sweep"]) == {"config", "file", "dry_run"}
    assert set(options["cancel"]) == {"session"} and "params" in options


async def test_someone_not_on_the_list_gets_an_ephemeral_refusal(cog, operator):
    fake = interaction(STRANGER_ID)
    await cog.set_parameter.callback(cog, fake, parameter="steps", value="20")
    text, ephemeral = said(fake)
    assert ephemeral and "not on the operators' list" in text
    assert not await sync_to_async(ParameterSet.objects.exists)()


async def test_set_validates_with_the_catalogue_and_autocomplete_helps(cog, operator):
    fake = interaction()
    await cog.set_parameter.callback(cog, fake, parameter="steps", value="999")
    assert "steps must be at most 150" in said(fake)[0]
    fake = interaction()
    await cog.set_parameter.callback(cog, fake, parameter="steps", value="20")
    assert said(fake) == ("steps = 20 (working set v1)", True)

    fake = interaction()
    await cog.complete_parameter(fake, "guid")
    offered = fake.response.send_autocomplete.call_args.args[0]
    assert offered[0] == "guidance_scale" and all("guid" in name for name in offered)  # the prefix first
    fake = interaction(options=[{"name": "parameter", "value": "steps"}])
    await cog.complete_value(fake, "")
    hints = fake.response.send_autocomplete.call_args.args[0]
    assert hints[0] == "20" and "1.0" in hints and "150.0" in hints  # current, default, bounds


async def test_a_face_test_from_discord_posts_results_with_reactions_and_one_progress_message(
    cog, operator, faces_dir
):
    await sync_to_async(services.folder_import)(name="team", directory=faces_dir)
    fake = interaction()
    await cog.test_face_mecene.callback(cog, fake, face_folders="team", generations_per_input=1, ideas="calm")
    assert said(fake)[0].endswith("2 generation(s) queued")
    session = await sync_to_async(models.TestSession.objects.get)()
    assert session.channel_id == "555"
    for item in await sync_to_async(list)(SessionItem.objects.select_related("job")):
        await sync_to_async(_finish)(item.job)

    sent = []

    async def send(text, files=None):
        message = MagicMock(id=7000 + len(sent), add_reaction=AsyncMock(), edit=AsyncMock())
        sent.append((text, files, message))
        return message

    channel = SimpleNamespace(send=send, fetch_message=AsyncMock())
    cog.bot.get_channel = lambda channel_id: channel
    await cog._follow(session)

    results = [entry for entry in sent if entry[1]]
    assert len(results) == 2 and all("calm" in text for text, _, _ in results)
    for _, _, message in results:
        assert [c.args[0] for c in message.add_reaction.await_args_list] == [SAVE, HIDE]
    progress = [text for text, files, _ in sent if not files]
    assert len(progress) == 1 and "2/2" in progress[0] and progress[0].endswith("finished")
    await sync_to_async(session.refresh_from_db)()
    assert session.progress_message_id == str(sent[-1][2].id)
    await cog._follow(session)  # nothing new: nothing posted again
    assert len(sent) == 3


async def test_reactions_save_once_hide_and_ignore_the_bot_and_strangers(operator, faces_dir):
    await sync_to_async(services.folder_import)(name="team", directory=faces_dir)

    def one_finished_result():
        combinations = services.test_faces_combinations(folders=["team"], ideas=["calm"], per_input=1)
        session = services.session_create(owner=operator, kind="test", combinations=combinations, spec={})
        item = SessionItem.objects.filter(session=session).first()
        _finish(item.job)
        SessionItem.objects.filter(pk=item.pk).update(result_message_id="8001")
        return item

    item = await sync_to_async(one_finished_result)()
    bot = SimpleNamespace(user=SimpleNamespace(id=BOT_ID))

    def payload(emoji: str, user_id: int):
        return SimpleNamespace(
            emoji=SimpleNamespace(name=emoji),
            user_id=user_id,
            member=None,
            message_id=8001,
            channel_id=555,
            guild_id=1,
        )

    assert await handle_reaction(bot, payload(SAVE, BOT_ID)) == "ignored"
    assert await handle_reaction(bot, payload(SAVE, STRANGER_ID)) == "ignored"
    assert await handle_reaction(bot, payload("👍", OPERATOR_ID)) == "ignored"
    assert not await sync_to_async(Production.objects.exists)()
    assert await handle_reaction(bot, payload(SAVE, OPERATOR_ID)) == "saved"
    assert await handle_reaction(bot, payload(SAVE, OPERATOR_ID)) == "saved"
    production = await sync_to_async(Production.objects.get)()
    assert production.saved_from_message == "https://discord.com/channels/1/555/8001"
    assert await handle_reaction(bot, payload(HIDE, OPERATOR_ID)) == "hidden"
    assert (await sync_to_async(SessionItem.objects.get)(pk=item.pk)).hidden


def test_without_a_token_the_bot_exits_2_saying_so(settings):
    settings.DISCORD_BOT_TOKEN = ""
    with pytest.raises(CommandError, match="DISCORD_BOT_TOKEN is not set") as refused:
        call_command("run_discord_bot")
    assert refused.value.returncode == 2
