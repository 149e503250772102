"""The Discord front-end through nextcord's own HTTP client and models, against the local Discord server
(tests/apps/discord_ops/discord_server.py): commands, autocomplete, results, progress, the end."""

from types import SimpleNamespace

import pytest
from asgiref.sync import sync_to_async
from django.core.management import CommandError, call_command

from apps.discord_ops import models, services
from apps.discord_ops.bot import permissions
from apps.discord_ops.bot.actions import handle_reaction
from apps.discord_ops.bot.results import HIDE, SAVE
from apps.discord_ops.models import ParameterSet, Production, SessionItem
from tests.apps.discord_ops.bot_fixtures import OPERATOR_ID, STRANGER_ID, finish, finish_all, session_on
from tests.apps.discord_ops.discord_server import BOT_ID, EVERYTHING

pytestmark = pytest.mark.django_db(transaction=True)


async def test_commands_are_synced_with_their_options_and_hidden_from_non_operators(
    start_bot, discord_server
):
    await start_bot()
    commands = discord_server.commands
    assert set(commands) == {"set", "params", "reset", "generate", "test_face_mecene", "sweep", "cancel"}
    options = {
        name: {o["name"]: o.get("autocomplete", False) for o in c["options"]} for name, c in commands.items()
    }
    assert options["set"] == {"parameter": True, "value": True}
    assert set(options["sweep"]) == {"config", "file", "dry_run"}
    for command in commands.values():  # only members who can manage the server see them by default
        assert command["default_member_permissions"] == str(permissions.OPERATOR_COMMANDS.value)


async def test_someone_not_on_the_list_gets_an_ephemeral_refusal(start_bot, discord_server, operator):
    bot = await start_bot()
    channel = discord_server.add_channel()
    said = await bot.private(
        bot.command("set", user_id=STRANGER_ID, channel_id=channel, parameter="steps", value="20")
    )
    assert "not on the operators' list" in said
    assert not await sync_to_async(ParameterSet.objects.exists)()
    assert discord_server.violations == []


async def test_set_validates_and_autocomplete_offers_values_set_accepts(start_bot, discord_server, operator):
    bot = await start_bot()
    channel = discord_server.add_channel()
    said = await bot.private(
        bot.command("set", user_id=OPERATOR_ID, channel_id=channel, parameter="steps", value="999")
    )
    assert "steps must be at most 150" in said
    said = await bot.private(
        bot.command("set", user_id=OPERATOR_ID, channel_id=channel, parameter="steps", value="20")
    )
    assert said == "steps = 20 (working set v1)"

    record = await bot.answered(
        bot.autocomplete(
            "set", focused="parameter", user_id=OPERATOR_ID, channel_id=channel, parameter="guid", value=""
        )
    )
    names = [choice["value"] for choice in record.response["choices"]]
    assert names[0] == "guidance_scale" and all("guid" in n for n in names)
    for parameter in ("steps", "seed", "guidance_scale"):
        record = await bot.answered(
            bot.autocomplete(
                "set", focused="value", user_id=OPERATOR_ID, channel_id=channel, parameter=parameter, value=""
            )
        )
        offered = [choice["value"] for choice in record.response["choices"]]
        assert offered and "None" not in offered
        for value in offered:  # every hint is accepted by /set as it is
            await sync_to_async(services.params_set)(owner=operator, name=parameter, value=value)
    assert offered_for_steps(discord_server)[0] == "20"  # the operator's current value first
    assert discord_server.violations == []


def offered_for_steps(server):
    for record in server.interactions.values():
        choices = (record.response or {}).get("choices")
        if choices and choices[-1]["value"] == "150":
            return [c["value"] for c in choices]
    raise AssertionError("no hints for steps")


async def test_a_face_test_acknowledges_posts_results_with_buttons_and_announces_the_end(
    start_bot, discord_server, operator, faces_dir
):
    await sync_to_async(services.folder_import)(name="team", directory=faces_dir)
    bot = await start_bot()
    channel = discord_server.add_channel()
    payload = bot.command(
        "test_face_mecene",
        user_id=OPERATOR_ID,
        channel_id=channel,
        face_folders="team",
        generations_per_input=1,
        ideas="calm",
    )
    record = await bot.answered(payload)
    assert record.response_type == 5  # deferred first
    reply = await bot.reply(payload)
    assert reply["content"].endswith("2 generation(s) queued")
    session = await sync_to_async(models.TestSession.objects.get)()
    assert session.progress_message_id == reply["id"]  # the reply is the progress message

    await sync_to_async(finish_all)(session)
    await bot.cog.follower.run_pass()
    await bot.cog.follower.run_pass()  # nothing new: nothing posted again
    messages = discord_server.channel_messages(channel)
    results = [m for m in messages if m["attachments"]]
    assert len(results) == 2 and all(
        "calm" in m["content"] and "identity 0.81" in m["content"] for m in results
    )
    buttons = [c["label"] for c in results[0]["components"][0]["components"]]
    assert buttons == ["Save", "Hide", "Reroll", "Rerun with my set", "Parameters"]
    assert discord_server.messages[int(reply["id"])]["content"].endswith(
        "2/2 · 2 done, 0 running, 0 queued · finished"
    )
    end = [m for m in messages if m["content"].startswith(f"<@{OPERATOR_ID}> session {session.pk} finished")]
    assert len(end) == 1 and "2 succeeded, 0 failed, best identity 0.81" in end[0]["content"]
    assert f"/{channel}/{results[0]['id']}" in end[0]["content"]  # a link to the first result
    assert len(messages) == 4 and discord_server.violations == []
    assert await sync_to_async(models.TestSession.objects.filter(announced_at__isnull=False).count)() == 1


async def test_reactions_save_once_hide_and_ignore_the_bot_and_strangers(operator, faces_dir):
    await sync_to_async(services.folder_import)(name="team", directory=faces_dir)

    def one_finished_result():
        item = SessionItem.objects.filter(session=session_on(555, operator)).select_related("job").first()
        finish(item.job)
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


def test_the_invite_permissions_are_what_the_bot_checks():
    assert permissions.INVITE_PERMISSIONS.value == 117824  # README's invite URL
    assert permissions.missing(permissions.INVITE_PERMISSIONS) == []
    assert EVERYTHING & permissions.INVITE_PERMISSIONS.value == permissions.INVITE_PERMISSIONS.value


async def test_a_sweep_lists_privately_on_a_dry_run_and_queues_otherwise(
    start_bot, discord_server, operator, faces_dir
):
    await sync_to_async(services.folder_import)(name="team", directory=faces_dir)
    bot = await start_bot()
    channel = discord_server.add_channel()
    config = "ideas: [calm]\nfaces: [team]\nguidance_scale: [4.0, 6.0]\n"
    dry = bot.command("sweep", user_id=OPERATOR_ID, channel_id=channel, config=config, dry_run=True)
    record = await bot.answered(dry, followups=1)
    listing = discord_server.messages[record.followups[0]]
    assert record.response["flags"] & 64 and listing["content"].startswith("4 combinations\n1. calm · team/")
    assert not await sync_to_async(models.TestSession.objects.exists)()

    queued = bot.command("sweep", user_id=OPERATOR_ID, channel_id=channel, config=config)
    reply = await bot.reply(queued)
    session = await sync_to_async(models.TestSession.objects.get)()
    assert reply["content"] == f"session {session.pk}: 4 generation(s) queued"
    assert session.kind == "sweep" and session.spec == {"yaml": config}

    bad = bot.command("sweep", user_id=OPERATOR_ID, channel_id=channel, config="ideas: [calm\n")
    assert "not valid YAML (line 2, column 1)" in (await bot.reply(bad))["content"]
    assert discord_server.violations == []


async def test_cancel_stops_only_the_operators_own_session(start_bot, discord_server, operator, faces_dir):
    await sync_to_async(services.folder_import)(name="team", directory=faces_dir)
    bot = await start_bot()
    channel = discord_server.add_channel()
    session = await sync_to_async(session_on)(channel, operator)
    mine = bot.command("cancel", user_id=OPERATOR_ID, channel_id=channel, session=session.pk)
    assert (await bot.reply(mine))["content"] == f"session {session.pk}: 2 job(s) canceled"
    unknown = bot.command("cancel", user_id=OPERATOR_ID, channel_id=channel, session=session.pk + 1000)
    assert (await bot.reply(unknown))["content"] == f"You have no session {session.pk + 1000}."
