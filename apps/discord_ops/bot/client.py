"""The bot itself: nextcord with the operators' cog, slash commands registered on DISCORD_GUILD_IDS.

Intents: the defaults (guilds, guild reactions for the 💾/❌ fallback); no privileged intent (no message
content, no members). Permissions and the invite URL: see README ("Operators' console on Discord")."""

from __future__ import annotations

import nextcord
from nextcord.ext import commands

from apps.discord_ops.bot.cog import OpsCog


def build_bot(guild_ids: list[int]) -> commands.Bot:
    intents = nextcord.Intents.default()
    intents.message_content = False
    bot = commands.Bot(intents=intents, default_guild_ids=guild_ids or None)
    bot.add_cog(OpsCog(bot))
    return bot
