"""The bot as it runs, minus the gateway: nextcord's own HTTP client logged in to the local Discord server
(Route.BASE points there), the guild delivered as GUILD_CREATE would, commands synced through the REST
API, and interactions fed to the connection state's own INTERACTION_CREATE parser. The bot's code does
not know it is not talking to Discord."""

from __future__ import annotations

import asyncio
import time

import nextcord
from nextcord.http import Route

from tests.apps.discord_ops.discord_server import APP_ID, TOKEN, DiscordServer

SLASH, COMPONENT, AUTOCOMPLETE = 2, 3, 4
OPTION_TYPES = {str: 3, int: 4, bool: 5, float: 10}


class BotUnderTest:
    def __init__(self, server: DiscordServer, bot: nextcord.Client, *, follow: bool = False):
        self.server, self.bot, self.follow = server, bot, follow

    async def start(self) -> None:
        data = await self.bot.http.static_login(TOKEN)
        state = self.bot._connection
        state.user = nextcord.ClientUser(state=state, data=data)
        state.application_id = APP_ID
        state._add_guild_from_data(self.server.guild_payload())
        self.bot.add_all_application_commands()
        await self.bot.sync_all_application_commands()
        state.dispatch("ready")
        cog = self.bot.get_cog("OpsCog")
        await eventually(lambda: cog.follow_sessions.is_running())
        if not self.follow:  # the test drives the passes itself (cog.follower.run_pass)
            # The loop's first pass starts at once: let it end (it may be posting) before stopping it.
            await eventually(lambda: cog.follower.passes >= 1)
            cog.follow_sessions.cancel()
            await eventually(lambda: not cog.follow_sessions.is_running())

    @property
    def cog(self):
        return self.bot.get_cog("OpsCog")

    async def close(self) -> None:
        for cog in list(self.bot.cogs.values()):
            unload = getattr(cog, "cog_unload", None)
            if unload:
                unload()
        await self.bot.http.close()

    def _deliver(self, payload: dict) -> dict:
        self.bot._connection.parse_interaction_create(payload)
        return payload

    def command(self, name: str, *, user_id: int, channel_id: int, **options) -> dict:
        """/name option=value ... typed by user_id in channel_id: returns the interaction's payload."""
        registered = self.server.commands[name]
        data = {
            "id": registered["id"],
            "name": name,
            "type": 1,
            "guild_id": registered.get("guild_id"),
            "options": [
                {"name": key, "type": OPTION_TYPES[type(value)], "value": value}
                for key, value in options.items()
            ],
        }
        return self._deliver(
            self.server.interaction(type_=SLASH, data=data, user_id=user_id, channel_id=channel_id)
        )

    def autocomplete(self, name: str, *, focused: str, user_id: int, channel_id: int, **options) -> dict:
        registered = self.server.commands[name]
        data = {
            "id": registered["id"],
            "name": name,
            "type": 1,
            "options": [
                {"name": key, "type": 3, "value": value, **({"focused": True} if key == focused else {})}
                for key, value in options.items()
            ],
        }
        return self._deliver(
            self.server.interaction(type_=AUTOCOMPLETE, data=data, user_id=user_id, channel_id=channel_id)
        )

    def press(self, custom_id: str, *, message: dict, user_id: int) -> dict:
        """A button of `message` (a payload from the server) pressed by user_id."""
        data = {"custom_id": custom_id, "component_type": 2}
        return self._deliver(
            self.server.interaction(
                type_=COMPONENT,
                data=data,
                user_id=user_id,
                channel_id=int(message["channel_id"]),
                message=message,
            )
        )

    async def answered(self, payload: dict, *, followups: int = 0, timeout: float = 15.0):
        """Wait until the interaction got its answer (and `followups` follow-ups); the server's record."""
        record = self.server.interactions[int(payload["id"])]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if record.response_type is not None and len(record.followups) >= followups:
                return record
            await asyncio.sleep(0.01)
        raise AssertionError(
            f"interaction not answered in {timeout} s: {record}; violations {self.server.violations}"
        )

    async def private(self, payload: dict, *, timeout: float = 15.0) -> str:
        """What the interaction answered privately: its ephemeral answer, or the follow-up of its
        ephemeral deferral. Fails when the answer was public."""
        record = await self.answered(payload, timeout=timeout)
        assert record.response["flags"] & 64, f"answered publicly: {record}"
        if record.response_type == 4:
            return record.response["content"]
        record = await self.answered(payload, followups=1, timeout=timeout)
        return self.server.messages[record.followups[-1]]["content"]

    async def reply(self, payload: dict, *, timeout: float = 15.0) -> dict:
        """The interaction's own message once the bot has written it (a deferred answer edited)."""
        record = self.server.interactions[int(payload["id"])]

        def written():
            message_id = (record.response or {}).get("_message_id")
            message = self.server.messages.get(message_id) if message_id else None
            return message if message and message["content"] else None

        return await eventually(written, timeout=timeout)


async def eventually(check, *, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


def point_nextcord_at(server: DiscordServer, monkeypatch) -> None:
    monkeypatch.setattr(Route, "BASE", server.url)
