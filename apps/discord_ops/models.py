"""The operators' console: who may use it, their parameter sets, face folders, test sessions and the
productions they keep."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Operator(models.Model):
    """An allow-list entry: a Discord user id or a Discord role id, acting as a staff account (which owns
    the jobs). The terminal (`manage.py ops --as EMAIL`) acts as the account directly."""

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="operator_entries",
        limit_choices_to={"is_staff": True},
    )
    discord_user_id = models.CharField(max_length=20, blank=True, db_index=True)
    discord_role_id = models.CharField(max_length=20, blank=True, db_index=True)
    active = models.BooleanField(default=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(discord_user_id="") & ~Q(discord_role_id=""))
                | (~Q(discord_user_id="") & Q(discord_role_id="")),
                name="operator_user_or_role",
            )
        ]

    def __str__(self) -> str:
        who = f"user {self.discord_user_id}" if self.discord_user_id else f"role {self.discord_role_id}"
        return f"{who} as {self.account}"


class ParameterSet(models.Model):
    """One version of an operator's named set: the parameters that differ from the defaults. Every change
    is a new version; the latest is the one in use."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="parameter_sets"
    )
    name = models.CharField(max_length=60, default="working")
    version = models.PositiveIntegerField()
    values = models.JSONField(default=dict, blank=True)
    production_mode = models.BooleanField(
        default=False, help_text="Every result of the operator's sessions is saved as a production."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["owner", "name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name", "version"], name="parameter_set_version")
        ]
        permissions = [("promote_parameterset", "Can promote a parameter set to the visitors' defaults")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version} of {self.owner}"


class VisitorDefaults(models.Model):
    """Which parameter set visitors' portraits are painted with. Every promotion is a row: the newest is
    in force, the earlier ones stay for a one-click rollback."""

    parameter_set = models.ForeignKey(ParameterSet, on_delete=models.PROTECT, related_name="promotions")
    promoted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    promoted_at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-promoted_at", "-pk"]
        verbose_name_plural = "visitor defaults"

    def __str__(self) -> str:
        return f"{self.parameter_set} (promoted {self.promoted_at:%Y-%m-%d %H:%M})"


class FaceFolder(models.Model):
    """faces/<name>/ in storage: operators' own test faces."""

    name = models.SlugField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class FacePhoto(models.Model):
    folder = models.ForeignKey(FaceFolder, on_delete=models.CASCADE, related_name="photos")
    name = models.CharField(max_length=100)
    image = models.FileField(max_length=200)

    class Meta:
        ordering = ["folder", "name"]
        constraints = [models.UniqueConstraint(fields=["folder", "name"], name="face_photo_name")]

    def __str__(self) -> str:
        return f"{self.folder}/{self.name}"


class SessionKind(models.TextChoices):
    GENERATE = "generate", "Quick look"
    TEST = "test", "Faces × ideas"
    SWEEP = "sweep", "Sweep"


class TestSession(models.Model):
    """One /generate, /test_face_mecene or /sweep: who, when, what, and its jobs (SessionItem)."""

    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="test_sessions"
    )
    kind = models.CharField(max_length=10, choices=SessionKind.choices)
    spec = models.JSONField(default=dict, blank=True, help_text="What was asked, as given.")
    production_mode = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    built_at = models.DateTimeField(
        null=True, blank=True, help_text="Every job queued: only then is it followed and can it finish."
    )
    channel_id = models.CharField(max_length=20, blank=True)
    progress_message_id = models.CharField(max_length=20, blank=True)
    discord_user_id = models.CharField(
        max_length=20,
        blank=True,
        help_text="Who started it on Discord: mentioned at the end, told of a stall.",
    )
    failed_passes = models.PositiveIntegerField(default=0, help_text="The bot's failed passes in a row.")
    stalled_at = models.DateTimeField(null=True, blank=True, help_text="The bot gave up following it.")
    stall_reason = models.CharField(max_length=300, blank=True)
    announced_at = models.DateTimeField(null=True, blank=True, help_text="Its end was announced.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"session {self.pk} ({self.kind})"


class SessionItem(models.Model):
    session = models.ForeignKey(TestSession, on_delete=models.CASCADE, related_name="items")
    job = models.OneToOneField("generation.GenerationJob", on_delete=models.CASCADE, related_name="ops_item")
    position = models.PositiveIntegerField()
    face = models.ForeignKey(FacePhoto, null=True, on_delete=models.SET_NULL, related_name="+")
    idea = models.CharField(max_length=60)
    varied = models.JSONField(default=dict, blank=True, help_text="The swept parameters of this combination.")
    hidden = models.BooleanField(default=False, help_text="❌ by an operator: left out of the summary.")
    result_message_id = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["session", "position"]

    def __str__(self) -> str:
        return f"#{self.position + 1} of session {self.session_id}"


class Production(models.Model):
    """A result an operator kept (💾, `ops save`, production mode): a copy of the image, what made it."""

    image = models.FileField(upload_to="productions/saved/", max_length=200)
    source_job = models.OneToOneField(
        "generation.GenerationJob", null=True, on_delete=models.SET_NULL, related_name="production"
    )
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    mecene_input = models.CharField(max_length=60)
    keywords = models.JSONField(default=list, blank=True)
    params = models.JSONField(default=dict, blank=True)
    seed = models.BigIntegerField(null=True)
    face_folder = models.CharField(max_length=40, blank=True)
    face_file = models.CharField(max_length=100, blank=True)
    identity_score = models.FloatField(null=True, blank=True)
    saved_from_message = models.CharField(max_length=200, blank=True, help_text="The Discord message link.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"production {self.pk}: {self.mecene_input}"
