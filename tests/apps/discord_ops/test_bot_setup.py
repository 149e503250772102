"""How the bot is set up: the gateway intents it asks for, and what its library may log."""

import copy
import logging
import logging.config

import nextcord
from django.conf import settings

from apps.discord_ops.bot.client import build_bot


async def test_the_bot_asks_only_for_the_intents_it_listens_with():  # a client wants a running loop
    bot = build_bot([1])
    # guilds: channels, the bot's member (permissions, the upload limit); guild reactions: 💾/❌.
    assert bot.intents == nextcord.Intents(guilds=True, guild_reactions=True)
    assert not bot.intents.messages and not bot.intents.members and not bot.intents.message_content


def test_nextcord_never_logs_at_debug_even_when_the_site_does():
    config = copy.deepcopy(settings.LOGGING)
    config["root"]["level"] = "DEBUG"  # LOG_LEVEL=DEBUG
    try:
        logging.config.dictConfig(config)
        # nextcord.http logs each request's URL at DEBUG: an interaction's token is in the URL.
        assert not logging.getLogger("nextcord.http").isEnabledFor(logging.DEBUG)
        assert logging.getLogger("nextcord.http").isEnabledFor(logging.INFO)
    finally:
        logging.config.dictConfig(settings.LOGGING)
