"""The bot itself: nextcord with the operators' cog, slash commands registered on DISCORD_GUILD_IDS."""

from __future__ import annotations

import nextcord
from nextcord.ext import commands

from apps.discord_ops.bot.cog import OpsCog


def build_bot(guild_ids: list[int]) -> commands.Bot:
    intents = nextcord.Intents.default()  # guilds and reactions: no message content needed
    bot = commands.Bot(intents=intents, default_guild_ids=guild_ids or None)
    bot.add_cog(OpsCog(bot))
    return bot
