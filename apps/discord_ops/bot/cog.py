"""The Discord front-end: slash commands, reactions and the progress loop. Thin on purpose: parse, call
apps.discord_ops.services / selectors (in a thread: they use the database), format.

Every command first checks the allow-list (by the member's id, then their roles); anyone else gets an
ephemeral refusal and the services log an audit line.
"""

from __future__ import annotations

import io
import logging

import nextcord
from asgiref.sync import sync_to_async
from nextcord import Interaction, SlashOption
from nextcord.ext import commands, tasks

from apps.discord_ops import selectors, services
from apps.discord_ops.errors import OpsError
from apps.discord_ops.models import SessionItem, TestSession
from apps.discord_ops.progress import ProgressEditor, progress_text
from apps.discord_ops.services import PRODUCTION_MODE
from apps.generation.models import ENDED_STATUSES, JobStatus
from inference.params import SPECS

logger = logging.getLogger("narcis.ops.bot")

SAVE, HIDE = "💾", "❌"
PARAMETER_NAMES = [*SPECS, PRODUCTION_MODE]


def _roles(member) -> list[int]:
    return [role.id for role in getattr(member, "roles", None) or []]


async def _operator(interaction: Interaction):
    """The operator's staff account, or None after an ephemeral refusal."""
    try:
        return await sync_to_async(services.operator_account)(
            discord_user_id=str(interaction.user.id), role_ids=_roles(interaction.user)
        )
    except OpsError as error:
        await interaction.response.send_message(error.message, ephemeral=True)
        return None


class OpsCog(commands.Cog):
    def __init__(self, bot: commands.Bot):
        self.bot = bot
        self.editors: dict[int, tuple[ProgressEditor, object]] = {}  # session -> (editor, its message)

    def cog_unload(self):
        self.follow_sessions.cancel()

    @commands.Cog.listener()
    async def on_ready(self):
        # Sessions still running (a restart) are followed again: their progress message keeps updating.
        if not self.follow_sessions.is_running():
            self.follow_sessions.start()

    # ---- parameters ----

    @nextcord.slash_command(name="set", description="Set a generation parameter in your working set")
    async def set_parameter(
        self,
        interaction: Interaction,
        parameter: str = SlashOption(description="a parameter of the catalogue", autocomplete=True),
        value: str = SlashOption(description="its value", autocomplete=True),
    ):
        owner = await _operator(interaction)
        if owner is None:
            return
        try:
            working = await sync_to_async(services.params_set)(owner=owner, name=parameter, value=value)
        except OpsError as error:
            await interaction.response.send_message(error.message, ephemeral=True)
            return
        await interaction.response.send_message(
            f"{parameter} = {value} (working set v{working.version})", ephemeral=True
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
        await interaction.response.send_autocomplete(
            await sync_to_async(_value_hints)(interaction, parameter)
        )

    @nextcord.slash_command(name="params", description="Your working set, and what differs from the defaults")
    async def show_params(self, interaction: Interaction):
        owner = await _operator(interaction)
        if owner is None:
            return
        lines, production_mode, version = await sync_to_async(selectors.params_overview)(owner)
        changed = [
            f"**{line.name}** = {line.value} (default {line.default})" for line in lines if line.changed
        ]
        text = f"working set v{version} · production_mode {str(production_mode).lower()}\n"
        text += "\n".join(changed) if changed else "every parameter at its default"
        await interaction.response.send_message(text, ephemeral=True)

    @nextcord.slash_command(name="reset", description="Back to the defaults (one parameter, or all)")
    async def reset(
        self,
        interaction: Interaction,
        parameter: str = SlashOption(
            description="leave empty for all", required=False, autocomplete=True, default=None
        ),
    ):
        owner = await _operator(interaction)
        if owner is None:
            return
        try:
            working = await sync_to_async(services.params_reset)(owner=owner, name=parameter)
        except OpsError as error:
            await interaction.response.send_message(error.message, ephemeral=True)
            return
        await interaction.response.send_message(
            f"{parameter or 'every parameter'} back to the default (working set v{working.version})",
            ephemeral=True,
        )

    @reset.on_autocomplete("parameter")
    async def complete_reset(self, interaction: Interaction, parameter: str):
        await self.complete_parameter(interaction, parameter)

    # ---- sessions ----

    @nextcord.slash_command(name="generate", description="A quick look: one idea on a face folder")
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

    @nextcord.slash_command(name="test_face_mecene", description="Faces × mecene ideas × N")
    async def test_face_mecene(
        self,
        interaction: Interaction,
        face_folders: str = SlashOption(description="comma-separated face folders"),
        generations_per_input: int = SlashOption(description="per face and idea", min_value=1, max_value=20),
        ideas: str = SlashOption(
            description="comma-separated ideas (default: OPS_IDEAS)", required=False, default=""
        ),
    ):
        from django.conf import settings

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

    @nextcord.slash_command(name="sweep", description="A YAML sweep: inline, or an attached .yaml file")
    async def sweep(
        self,
        interaction: Interaction,
        config: str = SlashOption(description="YAML (or attach a file)", required=False, default=""),
        file: nextcord.Attachment = SlashOption(description="a .yaml file", required=False, default=None),
        dry_run: bool = SlashOption(description="list the combinations only", required=False, default=False),
    ):
        text = config
        if file is not None:
            if not file.filename.endswith((".yaml", ".yml")) or file.size > 64_000:
                await interaction.response.send_message(
                    "Attach a .yaml file of at most 64 KB.", ephemeral=True
                )
                return
            text = (await file.read()).decode("utf-8", errors="replace")
        if dry_run:
            owner = await _operator(interaction)
            if owner is None:
                return
            try:
                _, combinations = await sync_to_async(services.sweep_combinations)(text)
            except OpsError as error:
                await interaction.response.send_message(error.message, ephemeral=True)
                return
            listing = "\n".join(
                f"{n}. {c.idea} · {c.folder}/{c.face} · {c.params}"
                for n, c in enumerate(combinations[:30], 1)
            )
            await interaction.response.send_message(
                f"{len(combinations)} combinations\n{listing}"[:1900], ephemeral=True
            )
            return
        await self._start(
            interaction, "sweep", lambda: services.sweep_combinations(text)[1], {"yaml": text[:20_000]}
        )

    async def _start(self, interaction: Interaction, kind: str, combinations, spec: dict) -> None:
        owner = await _operator(interaction)
        if owner is None:
            return

        def create():
            return services.session_create(
                owner=owner,
                kind=kind,
                combinations=combinations(),
                spec=spec,
                channel_id=str(interaction.channel_id),
            )

        try:
            session = await sync_to_async(create)()
        except OpsError as error:
            await interaction.response.send_message(error.message, ephemeral=True)
            return
        count = await sync_to_async(session.items.count)()
        await interaction.response.send_message(f"session {session.pk}: {count} generation(s) queued")

    @nextcord.slash_command(name="cancel", description="Cancel a session's queued and running jobs")
    async def cancel(
        self, interaction: Interaction, session: int = SlashOption(description="the session number")
    ):
        owner = await _operator(interaction)
        if owner is None:
            return
        found = await sync_to_async(TestSession.objects.filter(pk=session, operator=owner).first)()
        if found is None:
            await interaction.response.send_message(f"You have no session {session}.", ephemeral=True)
            return
        count = await sync_to_async(services.session_cancel)(session=found)
        await interaction.response.send_message(f"session {session}: {count} job(s) canceled")

    # ---- reactions: 💾 keeps a result, ❌ hides it ----

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: nextcord.RawReactionActionEvent):
        await handle_reaction(self.bot, payload)

    # ---- progress ----

    @tasks.loop(seconds=2)
    async def follow_sessions(self):
        for session in await sync_to_async(lambda: list(selectors.sessions_to_follow()))():
            try:
                await self._follow(session)
            except nextcord.DiscordException:
                logger.warning("session progress not posted", exc_info=True, extra={"session": session.pk})

    async def _follow(self, session: TestSession) -> None:
        channel = self.bot.get_channel(int(session.channel_id)) or await self.bot.fetch_channel(
            int(session.channel_id)
        )
        summary = await sync_to_async(selectors.session_summary)(session)
        for item in await sync_to_async(_unposted_results)(session):
            await post_result(channel, item)
        await sync_to_async(services.productions_for_finished)(session=session)
        editor, edit = self.editors.get(session.pk) or (ProgressEditor(), _message_editor(channel, session))
        self.editors[session.pk] = (editor, edit)
        text = editor.take(progress_text(summary))
        if summary.finished:
            text = editor.flush() or text
        if text is not None:
            await edit(text)


def _value_hints(interaction: Interaction, parameter: str | None) -> list[str]:
    """For /set's value: the operator's current value, the default and the bounds."""
    name = parameter or _option(interaction, "parameter")
    if name == PRODUCTION_MODE:
        return ["true", "false"]
    spec = SPECS.get(name or "")
    if spec is None:
        return []
    hints = [str(spec.default)]
    try:
        owner = services.operator_account(
            discord_user_id=str(interaction.user.id), role_ids=_roles(interaction.user)
        )
        lines, _, _ = selectors.params_overview(owner)
        current = next(line.value for line in lines if line.name == name)
        hints.insert(0, str(current))
    except OpsError:
        pass
    if spec.minimum is not None:
        hints += [str(spec.minimum), str(spec.maximum)]
    return list(dict.fromkeys(hints))[:25]


def _option(interaction: Interaction, name: str) -> str | None:
    for option in (interaction.data or {}).get("options", []):
        if option.get("name") == name:
            return option.get("value")
    return None


def _unposted_results(session: TestSession) -> list[SessionItem]:
    return list(
        SessionItem.objects.filter(
            session=session, result_message_id="", job__status__in=ENDED_STATUSES
        ).select_related("job", "face__folder")
    )


def result_text(item: SessionItem) -> str:
    job = item.job
    face = f"{item.face.folder.name}/{item.face.name}" if item.face else "?"
    if job.status != JobStatus.SUCCEEDED:
        reason = job.error_message or "no reason given"
        return f"#{item.position + 1} {item.idea} · {face} · {job.status}: {reason}"
    metadata = job.metadata or {}
    chosen = (metadata.get("mecene") or {}).get("chosen") or []
    keywords = ", ".join(chosen[:8])
    varied = ", ".join(f"{k}={v}" for k, v in item.varied.items() if k != "seed")
    score = metadata.get("identity_score")
    seconds = (
        (job.finished_at - job.started_at).total_seconds() if job.finished_at and job.started_at else None
    )
    parts = [
        f"#{item.position + 1} **{item.idea}** · {face} · seed {job.params.get('seed')}",
        f"keywords: {keywords}" if keywords else "",
        f"parameters: {varied}" if varied else "",
        f"identity {score:.2f}" if score is not None else "",
        f"{seconds:.1f} s" if seconds is not None else "",
    ]
    return "\n".join(p for p in parts if p)


async def post_result(channel, item: SessionItem) -> None:
    """The result as a reply in the channel, with its image and 💾 ❌ already added."""
    job = item.job
    files = []
    if job.status == JobStatus.SUCCEEDED and job.result_image:
        data = await sync_to_async(_read)(job.result_image)
        files = [nextcord.File(fp=io.BytesIO(data), filename=f"{str(job.pk)[:8]}.png")]
    message = await channel.send(result_text(item), files=files)
    if files:
        await message.add_reaction(SAVE)
        await message.add_reaction(HIDE)
    await sync_to_async(SessionItem.objects.filter(pk=item.pk).update)(result_message_id=str(message.id))


def _read(stored) -> bytes:
    with stored.open("rb") as handle:
        return handle.read()


def _message_editor(channel, session: TestSession):
    """The session's one progress message in the channel: created once, then edited (not the interaction
    reply, whose token expires after 15 minutes)."""
    state = {"message": None}

    async def edit(text: str) -> None:
        if state["message"] is None and session.progress_message_id:
            try:
                state["message"] = await channel.fetch_message(int(session.progress_message_id))
            except nextcord.NotFound:
                state["message"] = None
        if state["message"] is None:
            state["message"] = await channel.send(text)
            session.progress_message_id = str(state["message"].id)
            await sync_to_async(TestSession.objects.filter(pk=session.pk).update)(
                progress_message_id=session.progress_message_id
            )
        else:
            await state["message"].edit(content=text)

    return edit


async def handle_reaction(bot, payload) -> str:
    """💾 saves the result as a production, ❌ hides it; reactions from the bot itself and from anyone
    not on the operators' list are ignored. Returns what was done ("saved", "hidden", "ignored")."""
    emoji = getattr(payload.emoji, "name", str(payload.emoji))
    if emoji not in (SAVE, HIDE) or (bot.user is not None and payload.user_id == bot.user.id):
        return "ignored"
    item = await sync_to_async(
        SessionItem.objects.filter(result_message_id=str(payload.message_id)).select_related("job").first
    )()
    if item is None:
        return "ignored"
    try:
        operator = await sync_to_async(services.operator_account)(
            discord_user_id=str(payload.user_id), role_ids=_roles(payload.member)
        )
    except OpsError:
        return "ignored"
    if emoji == HIDE:
        await sync_to_async(services.item_hide)(item=item)
        return "hidden"
    link = (
        f"https://discord.com/channels/{payload.guild_id or '@me'}/{payload.channel_id}/{payload.message_id}"
    )
    await sync_to_async(services.production_save)(job=item.job, operator=operator, message_link=link)
    return "saved"
