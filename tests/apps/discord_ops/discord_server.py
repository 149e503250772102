"""A local Discord REST API for the bot's tests: nextcord's own HTTP client talks to it (Route.BASE points
here), and it enforces Discord's documented rules the way Discord answers them:

- an interaction is acknowledged (its first callback) within 3 seconds, else 404 code 10062;
- one initial response per interaction, else 400 code 40060; follow-ups only after it (the first one
  after a deferral edits the deferred message, as Discord does);
- message content of at most 2,000 characters, else 400 code 50035; at most 25 autocomplete choices;
- files within the guild's upload limit, else 413 code 40005;
- the bot's permissions in the channel: 403 code 50013 (Missing Permissions) for a message without
  SEND_MESSAGES, files without ATTACH_FILES, a reaction without ADD_REACTIONS or READ_MESSAGE_HISTORY;
  403 code 50001 (Missing Access) for a channel it cannot see;
- 429 with `retry_after` on a route told to rate-limit (nextcord waits and retries).

Only the endpoints the bot uses: login, application command sync, interaction callbacks, follow-ups and
their edits, channel messages (with files), message edit/delete, reactions, DM channels. The server runs
in a thread of its own, with its own event loop, as Discord would run elsewhere: a bot that blocks its
loop is seen late here. Every refusal is also kept in `violations`, so a test can assert none happened.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from dataclasses import dataclass, field

from aiohttp import web
from nextcord import Permissions

APP_ID = 700000000000000001
BOT_ID = 700000000000000002
GUILD_ID = 700000000000000003
TOKEN = "fake-bot-token"
ACK_DEADLINE = 3.0
MAX_CONTENT = 2000
MAX_CHOICES = 25
UPLOAD_LIMIT = 25 * 1024 * 1024  # a guild at boost tier 0

# What Discord's permission checks look at for the requests the bot makes.
VIEW = Permissions(view_channel=True).value
SEND = Permissions(send_messages=True).value
ATTACH = Permissions(attach_files=True).value
REACT = Permissions(add_reactions=True).value
HISTORY = Permissions(read_message_history=True).value
EVERYTHING = Permissions(
    view_channel=True,
    send_messages=True,
    attach_files=True,
    embed_links=True,
    add_reactions=True,
    read_message_history=True,
    send_messages_in_threads=True,
).value

BOT_USER = {"id": str(BOT_ID), "username": "narcis", "discriminator": "0", "avatar": None, "bot": True}


def user_payload(user_id: int, name: str = "someone") -> dict:
    return {"id": str(user_id), "username": name, "discriminator": "0", "avatar": None}


@dataclass
class Interaction:
    id: int
    token: str
    channel_id: int
    created: float
    acknowledged_after: float | None = None
    response_type: int | None = None
    response: dict | None = None
    followups: list[int] = field(default_factory=list)


class DiscordServer:
    def __init__(self):
        self._ids = itertools.count(800000000000000000)
        self.lock = threading.Lock()
        self.channels: dict[int, int] = {}  # channel id -> the bot's permissions there
        self.messages: dict[int, dict] = {}  # id -> message payload (+ "_files": [(name, size)])
        self.deleted: set[int] = set()
        self.reactions: list[tuple[int, str]] = []
        self.interactions: dict[int, Interaction] = {}
        self.by_token: dict[str, Interaction] = {}
        self.commands: dict[str, dict] = {}  # name -> the registered command
        self.violations: list[str] = []
        self.rate_limits: dict[tuple[str, str], float] = {}  # (method, path start) -> retry_after, once
        self.rate_limited: list[str] = []
        self.upload_limit = UPLOAD_LIMIT
        self.dm_channels: dict[int, int] = {}  # user id -> DM channel id
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # ---- the test's side ----

    def next_id(self) -> int:
        return next(self._ids)

    def add_channel(self, permissions: int = EVERYTHING) -> int:
        channel_id = self.next_id()
        self.channels[channel_id] = permissions
        return channel_id

    def channel_payload(self, channel_id: int) -> dict:
        return {
            "id": str(channel_id),
            "type": 0,
            "guild_id": str(GUILD_ID),
            "name": f"ops-{channel_id % 1000}",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
        }

    def guild_payload(self) -> dict:
        return {
            "id": str(GUILD_ID),
            "name": "Narcis ops",
            "owner_id": "1",
            "premium_tier": 0,
            "roles": [
                {
                    "id": str(GUILD_ID),
                    "name": "@everyone",
                    "permissions": "0",
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                }
            ],
            "emojis": [],
            "stickers": [],
            "features": [],
            "channels": [self.channel_payload(c) for c in self.channels],
            "members": [],
            "member_count": 2,
            "unavailable": False,
        }

    def interaction(self, *, type_: int, data: dict, user_id: int, channel_id: int, message=None) -> dict:
        """A new interaction as the gateway would deliver it (INTERACTION_CREATE); its 3 s start now."""
        interaction_id = self.next_id()
        token = f"itoken-{interaction_id}"
        with self.lock:
            record = Interaction(interaction_id, token, channel_id, time.monotonic())
            self.interactions[interaction_id] = record
            self.by_token[token] = record
        payload = {
            "id": str(interaction_id),
            "application_id": str(APP_ID),
            "type": type_,
            "data": data,
            "guild_id": str(GUILD_ID),
            "channel_id": str(channel_id),
            "member": {
                "user": user_payload(user_id),
                "roles": [],
                "joined_at": "2026-01-01T00:00:00+00:00",
                "deaf": False,
                "mute": False,
                "permissions": str(Permissions.all().value),
            },
            "token": token,
            "version": 1,
            "app_permissions": str(self.channels.get(channel_id, 0)),
            "locale": "en-US",
            "guild_locale": "en-US",
        }
        if message is not None:
            payload["message"] = message
        return payload

    def rate_limit_once(self, method: str, path_start: str, retry_after: float = 0.2) -> None:
        self.rate_limits[(method, path_start)] = retry_after

    def channel_messages(self, channel_id: int) -> list[dict]:
        with self.lock:
            return [
                m
                for i, m in self.messages.items()
                if int(m["channel_id"]) == channel_id and i not in self.deleted
            ]

    # ---- running ----

    def start(self) -> None:
        ready = threading.Event()

        def serve():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._runner = web.AppRunner(self._app(), access_log=None)
            self._loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            self._loop.run_until_complete(site.start())
            port = self._runner.addresses[0][1]
            self.url = f"http://127.0.0.1:{port}/api/v10"
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._runner.cleanup())
            self._loop.close()

        self._thread = threading.Thread(target=serve, name="fake-discord", daemon=True)
        self._thread.start()
        ready.wait(10)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._rules], client_max_size=200 * 1024 * 1024)
        r = app.router
        r.add_get("/api/v10/users/@me", self._me)
        r.add_post("/api/v10/users/@me/channels", self._open_dm)
        r.add_get("/api/v10/users/{user}", self._user)
        r.add_route("*", "/api/v10/applications/{app}/guilds/{guild}/commands", self._commands)
        r.add_route("*", "/api/v10/applications/{app}/commands", self._commands)
        r.add_route("*", "/api/v10/applications/{app}/guilds/{guild}/commands/{command}", self._command)
        r.add_post("/api/v10/interactions/{id}/{token}/callback", self._callback)
        r.add_post("/api/v10/webhooks/{app}/{token}", self._followup)
        r.add_route("*", "/api/v10/webhooks/{app}/{token}/messages/{message}", self._webhook_message)
        r.add_get("/api/v10/channels/{channel}", self._channel)
        r.add_post("/api/v10/channels/{channel}/messages", self._send)
        r.add_route("*", "/api/v10/channels/{channel}/messages/{message}", self._message)
        r.add_put("/api/v10/channels/{channel}/messages/{message}/reactions/{emoji}/@me", self._react)
        return app

    # ---- rules shared by every route ----

    @web.middleware
    async def _rules(self, request: web.Request, handler):
        if request.headers.get("Authorization") != f"Bot {TOKEN}" and "/webhooks/" not in request.path:
            if "/interactions/" not in request.path:
                return _error(401, 0, "401: Unauthorized")
        for (method, start), retry_after in list(self.rate_limits.items()):
            if request.method == method and request.path.startswith("/api/v10" + start):
                del self.rate_limits[(method, start)]
                self.rate_limited.append(f"{method} {request.path}")
                body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": False}
                headers = {
                    "Retry-After": str(retry_after),
                    "X-RateLimit-Limit": "5",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset-After": str(retry_after),
                    "X-RateLimit-Bucket": "fake",
                    "X-RateLimit-Scope": "user",
                    "Via": "1.1 google",  # Discord's API answers through its proxy; nextcord checks it
                }
                return _json(body, status=429, headers=headers)
        return await handler(request)

    def _refuse(self, status: int, code: int, message: str, why: str) -> web.Response:
        with self.lock:
            self.violations.append(why)
        return _error(status, code, message)

    async def _body(self, request: web.Request) -> tuple[dict, list[tuple[str, int]]]:
        """The JSON payload and the uploaded files (name, size), from JSON or multipart."""
        if not request.content_type.startswith("multipart/"):
            return (await request.json() if request.can_read_body else {}), []
        payload, files = {}, []
        reader = await request.multipart()
        async for part in reader:
            data = await part.read()
            if part.name == "payload_json":
                payload = json.loads(data)
            else:
                files.append((part.filename or part.name, len(data)))
        return payload, files

    def _check_content(self, payload: dict, files, where: str) -> web.Response | None:
        content = payload.get("content") or ""
        if len(content) > MAX_CONTENT:
            return self._refuse(
                400, 50035, "Invalid Form Body", f"{where}: content of {len(content)} characters"
            )
        if sum(size for _, size in files) > self.upload_limit:
            return self._refuse(413, 40005, "Request entity too large", f"{where}: files over the limit")
        return None

    def _message_payload(self, channel_id: int, payload: dict, files, *, webhook_id=None) -> dict:
        message_id = self.next_id()
        attachments = [
            {
                "id": str(self.next_id()),
                "filename": name,
                "size": size,
                "url": f"https://cdn.example/{message_id}/{name}",
                "proxy_url": f"https://cdn.example/{message_id}/{name}",
            }
            for name, size in files
        ]
        message = {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "guild_id": str(GUILD_ID),
            "author": BOT_USER,
            "content": payload.get("content") or "",
            "timestamp": "2026-12-05T00:00:00+00:00",
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": attachments,
            "embeds": payload.get("embeds") or [],
            "components": payload.get("components") or [],
            "pinned": False,
            "type": 0,
            "flags": payload.get("flags") or 0,
            "allowed_mentions": payload.get("allowed_mentions"),
        }
        if webhook_id is not None:
            message["webhook_id"] = str(webhook_id)
            message["application_id"] = str(APP_ID)
        with self.lock:
            self.messages[message_id] = message
        return message

    # ---- login, commands, DMs ----

    async def _me(self, request):
        return _json(BOT_USER)

    async def _user(self, request):
        return _json(user_payload(int(request.match_info["user"])))

    async def _open_dm(self, request):
        user_id = int((await request.json())["recipient_id"])
        with self.lock:
            channel_id = self.dm_channels.setdefault(user_id, self.next_id())
            self.channels.setdefault(channel_id, EVERYTHING)
        return _json(
            {"id": str(channel_id), "type": 1, "recipients": [user_payload(user_id)], "last_message_id": None}
        )

    def _registered(self, command: dict, guild: str | None) -> dict:
        existing = self.commands.get(command["name"])
        registered = {
            "id": existing["id"] if existing else str(self.next_id()),
            "application_id": str(APP_ID),
            "version": str(self.next_id()),
            "type": 1,
            "description": "",
            "options": [],
            "default_member_permissions": None,
            "dm_permission": True,
            "nsfw": False,
            **command,
        }
        if guild:
            registered["guild_id"] = guild
        self.commands[command["name"]] = registered
        return registered

    async def _commands(self, request):
        guild = request.match_info.get("guild")
        if request.method == "GET":
            return _json(list(self.commands.values()))
        body = await request.json()
        if request.method == "PUT":
            self.commands.clear()
            return _json([self._registered(c, guild) for c in body])
        return _json(self._registered(body, guild))

    async def _command(self, request):
        if request.method == "DELETE":
            wanted = request.match_info["command"]
            self.commands = {n: c for n, c in self.commands.items() if c["id"] != wanted}
            return web.Response(status=204)
        return _json(self._registered(await request.json(), request.match_info.get("guild")))

    # ---- interactions ----

    async def _callback(self, request):
        record = self.interactions.get(int(request.match_info["id"]))
        if record is None or record.token != request.match_info["token"]:
            return self._refuse(404, 10062, "Unknown interaction", "callback for an unknown interaction")
        elapsed = time.monotonic() - record.created
        payload, files = await self._body(request)
        if elapsed > ACK_DEADLINE:
            return self._refuse(
                404, 10062, "Unknown interaction", f"interaction acknowledged after {elapsed:.2f} s"
            )
        if record.response_type is not None:
            return self._refuse(
                400, 40060, "Interaction has already been acknowledged.", "a second initial response"
            )
        data = payload.get("data") or {}
        if payload.get("type") == 8 and len(data.get("choices", [])) > MAX_CHOICES:
            return self._refuse(400, 50035, "Invalid Form Body", "more than 25 autocomplete choices")
        refused = self._check_content(data, files, "interaction response")
        if refused is not None:
            return refused
        with self.lock:
            record.acknowledged_after, record.response_type, record.response = elapsed, payload["type"], data
        if payload["type"] == 4:  # a message: it exists in the channel as the interaction's original
            message = self._message_payload(record.channel_id, data, files, webhook_id=APP_ID)
            record.response = {**data, "_message_id": int(message["id"])}
        return web.Response(status=204)

    async def _followup(self, request):
        record = self.by_token.get(request.match_info["token"])
        if record is None or record.response_type is None:
            return self._refuse(404, 10015, "Unknown Webhook", "a follow-up before the interaction's answer")
        payload, files = await self._body(request)
        refused = self._check_content(payload, files, "follow-up")
        if refused is not None:
            return refused
        if files and not self.channels.get(record.channel_id, 0) & ATTACH:
            return self._refuse(403, 50013, "Missing Permissions", "follow-up files without ATTACH_FILES")
        original = (record.response or {}).get("_message_id")
        if record.response_type == 5 and not record.followups and original is not None:
            # After a deferral, the first follow-up edits the "thinking" message: the same message.
            with self.lock:
                self.messages[original].update(
                    content=payload.get("content") or "", flags=payload.get("flags") or 0
                )
            message = self.messages[original]
        else:
            message = self._message_payload(record.channel_id, payload, files, webhook_id=APP_ID)
            if record.response_type == 5 and not record.followups:
                record.response = {**(record.response or {}), "_message_id": int(message["id"])}
        record.followups.append(int(message["id"]))
        return _json(message)

    async def _webhook_message(self, request):
        record = self.by_token.get(request.match_info["token"])
        if record is None or record.response_type is None:
            return self._refuse(404, 10015, "Unknown Webhook", "editing an unanswered interaction")
        wanted = request.match_info["message"]
        if wanted == "@original":
            message_id = (record.response or {}).get("_message_id")
            if message_id is None and record.response_type == 5:  # the deferred answer becomes a message
                message = self._message_payload(record.channel_id, {}, [], webhook_id=APP_ID)
                message_id = int(message["id"])
                record.response = {**(record.response or {}), "_message_id": message_id}
        else:
            message_id = int(wanted)
        if message_id not in self.messages or message_id in self.deleted:
            return self._refuse(404, 10008, "Unknown Message", "editing an unknown message")
        if request.method == "DELETE":
            self.deleted.add(message_id)
            return web.Response(status=204)
        if request.method == "GET":
            return _json(self.messages[message_id])
        payload, files = await self._body(request)
        refused = self._check_content(payload, files, "edit")
        if refused is not None:
            return refused
        with self.lock:
            self.messages[message_id].update(
                {k: v for k, v in payload.items() if k in ("content", "components")}
            )
        return _json(self.messages[message_id])

    # ---- channels and messages ----

    def _permission_refusal(self, channel_id: int, needed: list[tuple[int, str]], what: str):
        if channel_id not in self.channels:
            return self._refuse(404, 10003, "Unknown Channel", f"{what}: unknown channel {channel_id}")
        granted = self.channels[channel_id]
        if not granted & VIEW:
            return self._refuse(403, 50001, "Missing Access", f"{what}: channel not visible")
        missing = [name for bit, name in needed if not granted & bit]
        if missing:
            return self._refuse(403, 50013, "Missing Permissions", f"{what}: missing {', '.join(missing)}")
        return None

    async def _channel(self, request):
        channel_id = int(request.match_info["channel"])
        refused = self._permission_refusal(channel_id, [], "fetch channel")
        return refused or _json(self.channel_payload(channel_id))

    async def _send(self, request):
        channel_id = int(request.match_info["channel"])
        payload, files = await self._body(request)
        needed = [(SEND, "SEND_MESSAGES")] + ([(ATTACH, "ATTACH_FILES")] if files else [])
        refused = self._permission_refusal(channel_id, needed, "send") or self._check_content(
            payload, files, "send"
        )
        if refused is not None:
            return refused
        return _json(self._message_payload(channel_id, payload, files))

    async def _message(self, request):
        channel_id, message_id = int(request.match_info["channel"]), int(request.match_info["message"])
        needed = [(HISTORY, "READ_MESSAGE_HISTORY")] if request.method == "GET" else []
        refused = self._permission_refusal(channel_id, needed, f"{request.method} message")
        if refused is not None:
            return refused
        if message_id not in self.messages or message_id in self.deleted:
            return self._refuse(404, 10008, "Unknown Message", "an unknown message")
        if request.method == "GET":
            return _json(self.messages[message_id])
        if request.method == "DELETE":
            self.deleted.add(message_id)
            return web.Response(status=204)
        payload, files = await self._body(request)
        refused = self._check_content(payload, files, "edit")
        if refused is not None:
            return refused
        with self.lock:
            self.messages[message_id].update(
                {k: v for k, v in payload.items() if k in ("content", "components")}
            )
        return _json(self.messages[message_id])

    async def _react(self, request):
        channel_id, message_id = int(request.match_info["channel"]), int(request.match_info["message"])
        needed = [(HISTORY, "READ_MESSAGE_HISTORY"), (REACT, "ADD_REACTIONS")]
        refused = self._permission_refusal(channel_id, needed, "reaction")
        if refused is not None:
            return refused
        with self.lock:
            self.reactions.append((message_id, request.match_info["emoji"]))
        return web.Response(status=204)


def _json(body, *, status: int = 200, headers: dict | None = None) -> web.Response:
    # Exactly Discord's content type: nextcord decodes JSON only when it reads "application/json".
    return web.Response(
        body=json.dumps(body).encode(),
        status=status,
        headers={**(headers or {}), "Content-Type": "application/json"},
    )


def _error(status: int, code: int, message: str) -> web.Response:
    return _json({"code": code, "message": message}, status=status)
