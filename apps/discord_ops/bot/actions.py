"""What operators do to a posted result: the buttons under it (Save, Hide, Reroll, Rerun with my set,
Parameters) and, where the bot could add them, the 💾/❌ reactions. Operators only: anyone else gets an
ephemeral refusal (buttons) or is ignored (reactions)."""

from __future__ import annotations

import logging

import nextcord
from nextcord import Interaction

from apps.discord_ops import selectors, services
from apps.discord_ops.bot import text
from apps.discord_ops.bot.db import build, db, image_io
from apps.discord_ops.bot.results import HIDE, SAVE
from apps.discord_ops.errors import OpsError

logger = logging.getLogger("narcis.ops.bot")


def roles(member) -> list[int]:
    return [role.id for role in getattr(member, "roles", None) or []]


async def operator_of(user):
    """The staff account a Discord user acts as; OpsError when they are not an operator."""
    return await db(services.operator_account, discord_user_id=str(user.id), role_ids=roles(user))


async def on_button(action: str, item_id: int, interaction: Interaction) -> None:
    """Save, Hide, Reroll, Rerun with my set, Parameters: operators only; every answer ephemeral
    (deferred with a private "thinking" first: a button press has Discord's 3 seconds too)."""
    await interaction.response.defer(ephemeral=True, with_message=True)
    try:
        operator = await operator_of(interaction.user)
    except OpsError as error:
        await interaction.followup.send(text.message(error.message), ephemeral=True)
        return
    try:
        said = await _act(action, item_id, interaction, operator)
    except OpsError as error:
        said = error.message
    except Exception:  # ours: said privately, not left thinking
        logger.exception("button failed", extra={"action": action, "item": item_id})
        said = "Something went wrong on our side; try again, and tell a Narcis admin if it persists."
    await interaction.followup.send(text.message(said), ephemeral=True)


async def _act(action: str, item_id: int, interaction: Interaction, operator) -> str:
    return await ACTIONS[action](item_id, interaction, operator)


async def _save(item_id: int, interaction: Interaction, operator) -> str:
    production, created = await image_io(  # copies the image
        services.production_save_item, item_id=item_id, operator=operator, message_link=_link(interaction)
    )
    return f"{'saved' if created else 'already saved'} as production {production.pk}"


async def _hide(item_id: int, interaction: Interaction, operator) -> str:
    await db(services.item_hide, item=item_id)
    if interaction.message is not None:
        try:
            await interaction.message.delete()
        except nextcord.HTTPException as error:
            return f"hidden from the summary; the message stays ({error.text or error.status})"
    return "hidden"


async def _again(item_id: int, interaction: Interaction, operator, *, with_working_set: bool) -> str:
    item = await build(
        services.item_rerun, item_id=item_id, operator=operator, with_working_set=with_working_set
    )
    how = "with your current set" if with_working_set else "with a new seed"
    return f"queued again {how} as #{item.position + 1} of session {item.session_id}"


async def _reroll(item_id: int, interaction: Interaction, operator) -> str:
    return await _again(item_id, interaction, operator, with_working_set=False)


async def _rerun(item_id: int, interaction: Interaction, operator) -> str:
    return await _again(item_id, interaction, operator, with_working_set=True)


async def _parameters(item_id: int, interaction: Interaction, operator) -> str:
    card = await db(selectors.result_card, item_id)
    if card is None:
        return "That result is no longer known."
    outcome = card.outcome
    score = f"{outcome.identity_score:.3f}" if outcome.identity_score is not None else "none"
    listed = "\n".join(f"{k} = {v}" for k, v in sorted(outcome.params.items()))
    return f"seed {outcome.seed} · identity {score}\n```\n{listed}\n```"


ACTIONS = {"save": _save, "hide": _hide, "reroll": _reroll, "rerun": _rerun, "params": _parameters}


def _link(interaction: Interaction) -> str:
    message_id = interaction.message.id if interaction.message else ""
    return text.message_link(interaction.guild_id, interaction.channel_id, message_id)


async def handle_reaction(bot, payload) -> str:
    """💾 saves the result as a production, ❌ hides it; reactions from the bot itself and from anyone
    not on the operators' list are ignored. Returns what was done ("saved", "hidden", "ignored")."""
    emoji = getattr(payload.emoji, "name", str(payload.emoji))
    if emoji not in (SAVE, HIDE) or (bot.user is not None and payload.user_id == bot.user.id):
        return "ignored"
    item_id = await db(selectors.item_of_message, payload.message_id)
    if item_id is None:
        return "ignored"
    try:
        operator = await db(
            services.operator_account, discord_user_id=str(payload.user_id), role_ids=roles(payload.member)
        )
    except OpsError:
        return "ignored"
    if emoji == HIDE:
        await db(services.item_hide, item=item_id)
        return "hidden"
    link = text.message_link(payload.guild_id, payload.channel_id, payload.message_id)
    await image_io(services.production_save_item, item_id=item_id, operator=operator, message_link=link)
    return "saved"
