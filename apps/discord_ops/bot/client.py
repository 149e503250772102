"""The bot itself: nextcord with the operators' cog, slash commands registered on DISCORD_GUILD_IDS.

Intents: only what the bot listens to: guilds (the guild, its channels and the bot's own member: channel
permissions and the upload limit) and guild reactions (on_raw_reaction_add, the 💾/❌ fallback).
Interactions (commands, autocomplete, buttons) need no intent; no privileged intent (message content,
members, presences) and no message events. Permissions and the invite URL: see README ("Operators'
console on Discord")."""

from __future__ import annotations

import nextcord
from nextcord.ext import commands

from apps.discord_ops.bot.cog import OpsCog


def build_bot(guild_ids: list[int]) -> commands.Bot:
    intents = nextcord.Intents.none()
    intents.guilds = True
    intents.guild_reactions = True
    bot = commands.Bot(intents=intents, default_guild_ids=guild_ids or None)
    bot.add_cog(OpsCog(bot))
    return bot
