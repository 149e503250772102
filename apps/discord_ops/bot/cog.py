"""The Discord front-end: slash commands, buttons, reactions and the follow loop. Thin on purpose: parse,
call apps.discord_ops.services / selectors (through bot.db: off the event loop), format.

Answering within Discord's 3 seconds: a command checks the bot's channel permissions (carried by the
interaction, no I/O), then defers before any database work (the private commands at once; a session's
command, whose deferred answer is public, once the operator is known or ACK_WITHIN has passed) and
answers with a follow-up. Anyone not on the allow-list gets an ephemeral refusal and the services log an
audit line.
"""

from __future__ import annotations

import asyncio
import logging

import nextcord
from django.conf import settings
from nextcord import Interaction, SlashOption
from nextcord.ext import commands, tasks

from apps.discord_ops import selectors, services
from apps.discord_ops.bot import permissions, text
from apps.discord_ops.bot.actions import handle_reaction, on_button, operator_of, roles
from apps.discord_ops.bot.db import build, db
from apps.discord_ops.bot.follow import SessionFollower
from apps.discord_ops.bot.hints import ParameterHints
from apps.discord_ops.bot.results import parse_custom_id
from apps.discord_ops.errors import OpsError
from apps.discord_ops.services import PRODUCTION_MODE
from inference.params import SPECS

logger = logging.getLogger("narcis.ops.bot")

PARAMETER_NAMES = [*SPECS, PRODUCTION_MODE]
OPERATORS_ONLY = permissions.OPERATOR_COMMANDS
NOT_CREATED = (
    "Something went wrong on our side: no session was created. "
    "Try again; if it persists, tell a Narcis admin."
)
ACK_WITHIN = 2.0  # seconds a session's command waits for the operator lookup before deferring anyway


async def refuse(interaction: Interaction, said: str) -> None:
    """A private answer: the deferred one's follow-up, or the answer itself."""
    said = text.message(said)
    if interaction.response.is_done():
        await interaction.followup.send(said, ephemeral=True)
    else:
        await interaction.response.send_message(said, ephemeral=True)


answer_privately = refuse


async def defer(interaction: Interaction, *, ephemeral: bool) -> None:
    if not interaction.response.is_done():
        await interaction.response.defer(ephemeral=ephemeral)


class OpsCog(commands.Cog):
    def __init__(self, bot: commands.Bot):
        self.bot = bot
        self.follower = SessionFollower(bot)
        self.hints = ParameterHints()

    def cog_unload(self):
        self.follow_sessions.cancel()

    @commands.Cog.listener()
    async def on_ready(self):
        # After a restart: sessions still running are followed again. Nothing is read first: a database
        # not answering at start-up cannot keep the loop from starting (the loop's passes wait for it),
        # and a resumed gateway session never sends on_ready again. Buttons need no registering: see
        # on_interaction.
        if not self.follow_sessions.is_running():
            self.follow_sessions.start()

    @commands.Cog.listener()
    async def on_interaction(self, interaction: Interaction):
        """Every press of a result's button, however old the result and whatever restarts came between:
        one handler reading `narcis:<action>:<item id>` (no view per result registered at start, so no
        start-up read and no cut-off at the newest N results). Slash commands are nextcord's own."""
        if interaction.type != nextcord.InteractionType.component:
            return
        pressed = parse_custom_id((interaction.data or {}).get("custom_id", ""))
        if pressed is not None:
            await on_button(*pressed, interaction)

    async def _admit(self, interaction: Interaction, *, ephemeral: bool = True):
        """The operator behind a command, or None after an ephemeral refusal (missing channel
        permissions named, or not on the list). Acknowledged in time whatever the database does: a
        private command is deferred before the lookup; a session's command (public answer: the progress
        message; ephemeral=False) once the lookup is done, or after ACK_WITHIN seconds without it."""
        missing = permissions.missing(interaction.app_permissions) if interaction.guild_id else []
        if missing:
            await refuse(interaction, permissions.refusal(missing))
            return None
        if ephemeral:
            await defer(interaction, ephemeral=True)
        lookup = asyncio.ensure_future(operator_of(interaction.user))
        if not interaction.response.is_done():
            done, _ = await asyncio.wait({lookup}, timeout=ACK_WITHIN)
            if not done:
                await defer(interaction, ephemeral=ephemeral)
        try:
            return await lookup
        except OpsError as error:
            await refuse(interaction, error.message)
            return None

    # ---- parameters ----

    @nextcord.slash_command(
        name="set",
        description="Set a generation parameter in your working set",
        default_member_permissions=OPERATORS_ONLY,
    )
    async def set_parameter(
        self,
        interaction: Interaction,
        parameter: str = SlashOption(description="a parameter of the catalogue", autocomplete=True),
        value: str = SlashOption(description="its value", autocomplete=True),
    ):
        owner = await self._admit(interaction)
        if owner is None:
            return
        try:
            working = await db(services.params_set, owner=owner, name=parameter, value=value)
        except OpsError as error:
            await refuse(interaction, error.message)
            return
        self.hints.remember(interaction.user.id, working.values, working.production_mode)
        await answer_privately(
            interaction, f"{text.echoed(parameter)} = {text.echoed(value)} (working set v{working.version})"
        )

    @set_parameter.on_autocomplete("parameter")
    async def complete_parameter(self, interaction: Interaction, parameter: str):
        typed = (parameter or "").lower()
        matches = sorted(
            (n for n in PARAMETER_NAMES if typed in n), key=lambda n: (not n.startswith(typed), n)
        )
        await interaction.response.send_autocomplete(matches[:25])

    @set_parameter.on_autocomplete("value")
    async def complete_value(self, interaction: Interaction, value: str, parameter: str | None = None):
        """From memory (the operator's set as last seen), so it answers at once even while a session is
        being built; the set is looked up once, briefly, when not known yet."""
        name = parameter or _option(interaction, "parameter")
        if not self.hints.knows(interaction.user.id):
            await self._learn_set(interaction.user)
        await interaction.response.send_autocomplete(self.hints.values(interaction.user.id, name))

    async def _learn_set(self, user) -> None:
        def load():
            owner = services.operator_account(discord_user_id=str(user.id), role_ids=roles(user))
            return selectors.current_set(owner)

        try:
            working = await asyncio.wait_for(db(load), timeout=0.5)
        except Exception:  # not an operator, a slow or failing database: the hints do without it
            logger.info("parameter set not known for autocomplete", extra={"discord_user_id": str(user.id)})
            return
        self.hints.remember(
            user.id, working.values if working else {}, bool(working and working.production_mode)
        )

    @nextcord.slash_command(
        name="params",
        description="Your working set, and what differs from the defaults",
        default_member_permissions=OPERATORS_ONLY,
    )
    async def show_params(self, interaction: Interaction):
        owner = await self._admit(interaction)
        if owner is None:
            return
        lines, production_mode, version = await db(selectors.params_overview, owner)
        self.hints.remember(
            interaction.user.id, {line.name: line.value for line in lines if line.changed}, production_mode
        )
        changed = [
            f"**{line.name}** = {line.value} (default {line.default})" for line in lines if line.changed
        ]
        said = f"working set v{version} · production_mode {str(production_mode).lower()}\n"
        said += "\n".join(changed) if changed else "every parameter at its default"
        await answer_privately(interaction, said)

    @nextcord.slash_command(
        name="reset",
        description="Back to the defaults (one parameter, or all)",
        default_member_permissions=OPERATORS_ONLY,
    )
    async def reset(
        self,
        interaction: Interaction,
        parameter: str = SlashOption(
            description="leave empty for all", required=False, autocomplete=True, default=None
        ),
    ):
        owner = await self._admit(interaction)
        if owner is None:
            return
        try:
            working = await db(services.params_reset, owner=owner, name=parameter)
        except OpsError as error:
            await refuse(interaction, error.message)
            return
        self.hints.remember(interaction.user.id, working.values, working.production_mode)
        what = text.echoed(parameter or "every parameter")
        said = f"{what} back to the default (working set v{working.version})"
        await answer_privately(interaction, said)

    @reset.on_autocomplete("parameter")
    async def complete_reset(self, interaction: Interaction, parameter: str):
        await self.complete_parameter(interaction, parameter)

    # ---- sessions ----

    @nextcord.slash_command(
        name="generate",
        description="A quick look: one idea on a face folder",
        default_member_permissions=OPERATORS_ONLY,
    )
    async def generate(
        self,
        interaction: Interaction,
        idea: str = SlashOption(description="1 to 4 words, e.g. corporate confidence"),
        face_folder: str = SlashOption(description="a face folder"),
        n: int = SlashOption(
            description="how many per face", required=False, default=1, min_value=1, max_value=8
        ),
    ):
        await self._start(
            interaction,
            "generate",
            lambda: services.test_faces_combinations(folders=[face_folder], ideas=[idea], per_input=n),
            {"idea": idea, "folder": face_folder, "n": n},
        )

    @nextcord.slash_command(
        name="test_face_mecene",
        description="Faces × mecene ideas × N",
        default_member_permissions=OPERATORS_ONLY,
    )
    async def test_face_mecene(
        self,
        interaction: Interaction,
        face_folders: str = SlashOption(description="comma-separated face folders"),
        generations_per_input: int = SlashOption(description="per face and idea", min_value=1, max_value=20),
        ideas: str = SlashOption(
            description="comma-separated ideas (default: OPS_IDEAS)", required=False, default=""
        ),
    ):
        folders = [f.strip() for f in face_folders.split(",") if f.strip()]
        idea_list = [i.strip() for i in ideas.split(",") if i.strip()] or list(settings.OPS_IDEAS)
        spec = {"folders": folders, "ideas": idea_list, "per_input": generations_per_input}
        await self._start(
            interaction,
            "test",
            lambda: services.test_faces_combinations(
                folders=folders, ideas=idea_list, per_input=generations_per_input
            ),
            spec,
        )

    @nextcord.slash_command(
        name="sweep",
        description="A YAML sweep: inline, or an attached .yaml file",
        default_member_permissions=OPERATORS_ONLY,
    )
    async def sweep(
        self,
        interaction: Interaction,
        config: str = SlashOption(description="YAML (or attach a file)", required=False, default=""),
        file: nextcord.Attachment = SlashOption(description="a .yaml file", required=False, default=None),
        dry_run: bool = SlashOption(description="list the combinations only", required=False, default=False),
    ):
        if file is not None and (not file.filename.endswith((".yaml", ".yml")) or file.size > 64_000):
            await refuse(interaction, "Attach a .yaml file of at most 64 KB.")
            return

        async def read_config() -> str:  # after the answer was deferred: reading a file takes time
            return (await file.read()).decode("utf-8", errors="replace") if file is not None else config

        if not dry_run:
            await self._start(interaction, "sweep", None, {}, read_config=read_config)
            return
        owner = await self._admit(interaction)
        if owner is None:
            return
        try:
            _, combinations = await db(services.sweep_combinations, await read_config())
        except OpsError as error:
            await refuse(interaction, error.message)
            return
        listing = "\n".join(
            f"{n}. {c.idea} · {c.folder}/{c.face} · {c.params}" for n, c in enumerate(combinations[:30], 1)
        )
        await interaction.followup.send(
            text.message(f"{len(combinations)} combinations\n{listing}"), ephemeral=True
        )

    async def _start(
        self, interaction: Interaction, kind: str, combinations, spec: dict, *, read_config=None
    ):
        """Admit, defer (the reply will be public: it is the session's progress message), build the jobs
        in the BUILD pool, answer with the session number and its place in the queue."""
        owner = await self._admit(interaction, ephemeral=False)
        if owner is None:
            return
        await defer(interaction, ephemeral=False)
        # The deferred answer is a message already: the session's progress message, known before the
        # session exists, so the follow loop never makes a second one.
        reply = await interaction.original_message()
        if read_config is not None:  # a sweep: its YAML, inline or attached
            try:
                config = await read_config()
            except nextcord.HTTPException:
                await interaction.edit_original_message(
                    content="The attached file could not be read; attach it again."
                )
                return
            spec = {"yaml": config[:20_000]}

            def combinations():
                return services.sweep_combinations(config)[1]

        def create():
            session = services.session_create(
                owner=owner,
                kind=kind,
                combinations=combinations(),
                spec=spec,
                channel_id=str(interaction.channel_id),
                discord_user_id=str(interaction.user.id),
                progress_message_id=str(reply.id),
            )
            return session, selectors.session_summary(session)

        try:
            session, summary = await build(create)
        except OpsError as error:
            await interaction.edit_original_message(content=text.message(error.message))
            return
        except Exception:  # ours (database, storage): said, not left "thinking" until Discord gives up
            logger.exception(
                "session not created", extra={"kind": kind, "discord_user_id": str(interaction.user.id)}
            )
            await interaction.edit_original_message(content=NOT_CREATED)
            return
        place = (
            f" · next in the queue after {summary.queue_position} job(s)" if summary.queue_position else ""
        )
        said = f"session {session.pk}: {summary.total} generation(s) queued{place}"
        await interaction.edit_original_message(content=text.message(said))

    @nextcord.slash_command(
        name="cancel",
        description="Cancel a session's queued and running jobs",
        default_member_permissions=OPERATORS_ONLY,
    )
    async def cancel(
        self, interaction: Interaction, session: int = SlashOption(description="the session number")
    ):
        owner = await self._admit(interaction, ephemeral=False)
        if owner is None:
            return
        await defer(interaction, ephemeral=False)
        try:
            count = await db(services.session_cancel_by_number, number=session, owner=owner)
        except OpsError as error:
            await interaction.followup.send(text.message(error.message))
            return
        await interaction.followup.send(f"session {session}: {count} job(s) canceled")

    # ---- reactions: the fallback for 💾 Save and ❌ Hide ----

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: nextcord.RawReactionActionEvent):
        await handle_reaction(self.bot, payload)

    # ---- progress ----

    @tasks.loop(seconds=2)
    async def follow_sessions(self):
        await self.follower.run_pass()


def _option(interaction: Interaction, name: str):
    for option in (interaction.data or {}).get("options", []):
        if option.get("name") == name:
            return option.get("value")
    return None
