"""GenerationJob: the queue. One row per portrait, from submit to result. Its webhook deliveries, and the
per-user secret that signs them."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q

from apps.generation.signals import jobs_changed
from apps.sessions_tokens.models import exactly_one_owner


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


LIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
ENDED_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED)


class Priority(models.IntegerChoices):
    VISITOR = 0, "Visitor"
    OPERATOR = 10, "Operator"


class JobQuerySet(models.QuerySet):
    """Bulk updates and deletes say which jobs they changed (signals.jobs_changed), as saves and
    single deletes do through Django's own signals: the status snapshots follow every write."""

    def update(self, **kwargs):
        changed = list(self.values_list("pk", flat=True))
        count = super().update(**kwargs)
        if changed:
            jobs_changed.send(sender=GenerationJob, job_ids=changed)
        return count

    update.alters_data = True

    def delete(self):
        changed = list(self.values_list("pk", flat=True))
        result = super().delete()
        if changed:
            jobs_changed.send(sender=GenerationJob, job_ids=changed)
        return result

    delete.alters_data = True
    delete.queryset_only = True


class GenerationJob(models.Model):
    # Random, not serial: a job id appears in URLs and websocket paths.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="generation_jobs",
    )
    guest_session = models.ForeignKey(
        "sessions_tokens.GuestSession",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="generation_jobs",
    )
    idea = models.CharField(max_length=60)
    face_image = models.FileField(upload_to="faces/")
    params = models.JSONField(default=dict, blank=True)
    concept_seed = models.PositiveIntegerField(
        null=True, blank=True, help_text="Seed of the concept the visitor previewed; else the job's own."
    )
    batch_key = models.CharField(max_length=64, help_text="Jobs with equal keys can share one GPU batch.")
    priority = models.SmallIntegerField(choices=Priority.choices, default=Priority.VISITOR)

    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    cancel_requested = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Attempts count painting that a worker began and never finished (it died mid-batch): a spot
    # interruption now and then must not cost the portrait, a job that kills every worker must end.
    max_attempts = models.PositiveSmallIntegerField(default=5)
    infra_faults = models.PositiveSmallIntegerField(
        default=0,
        help_text="Times a worker handed the job back for a fault of ours (database, storage, GPU).",
    )
    # Poison isolation (services.jobs_reap_expired): a worker that died painting a batch of several
    # jobs does not say which one killed it, so they all go back as suspects, each painted alone next;
    # only a death while painting alone counts as an attempt.
    claimed_with = models.PositiveSmallIntegerField(
        default=0, help_text="How many jobs the worker claimed in this job's batch (1: alone)."
    )
    suspect = models.BooleanField(
        default=False, help_text="Its worker died painting it in a batch: painted alone from then on."
    )
    worker_id = models.CharField(max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    progress_stage = models.CharField(max_length=16, blank=True)
    progress_step = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    progress_percent = models.FloatField(default=0.0)
    progress_updated_at = models.DateTimeField(null=True, blank=True)

    prompt = models.TextField(blank=True)
    negative_prompt = models.TextField(blank=True)
    result_image = models.FileField(upload_to="productions/", blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    error_message = models.CharField(max_length=300, blank=True, help_text="Shown to the visitor.")
    error_detail = models.TextField(blank=True, help_text="For staff only.")

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    wall_consent = models.BooleanField(
        default=False,
        help_text="The owner agreed that Narcis may show this portrait on the public PhotoWall.",
    )
    api_key = models.ForeignKey(
        "sessions_tokens.ApiKey",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="generation_jobs",
        help_text="The API key it was submitted with: its queue allowance (API_KEY_MAX_QUEUED) counts these.",
    )
    webhook_url = models.URLField(
        max_length=500, blank=True, help_text="Where its events are sent (API-key jobs only): webhooks.py."
    )
    erased_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Deleted by its owner: photos, portrait and words are gone; the row stays for the ledger.",
    )

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "-priority", "created_at"], name="job_queue_order"),
            models.Index(fields=["status", "-finished_at"], name="job_recent_successes"),  # the ETA
            # The claim's fair share counts operators' jobs started since a visitor's job was queued.
            models.Index(fields=["started_at"], condition=Q(priority__gt=0), name="job_operator_starts"),
        ]
        constraints = [
            exactly_one_owner("job_has_exactly_one_owner"),
            models.UniqueConstraint(
                fields=["user", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="job_idempotency_per_user",
            ),
            models.UniqueConstraint(
                fields=["guest_session", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="job_idempotency_per_guest",
            ),
        ]

    def __str__(self) -> str:
        return f"job {str(self.id)[:8]} ({self.status})"

    @property
    def token_reference(self) -> str:
        return f"generation:{self.id}"


MAX_EXTRA_FACES = 3  # with the first photo, four of the same person: PhotoMaker V2 fuses them


class PhotoUpload(models.Model):
    """A photo sent ahead of its submission (POST /api/uploads), cleaned and checked like a submitted one;
    its owner's submissions name it by id. Used once: the job takes its pixels and the upload is deleted.
    Never used: deleted once `expires_at` passes (apps.generation.photo_uploads)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="photo_uploads",
    )
    guest_session = models.ForeignKey(
        "sessions_tokens.GuestSession",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="photo_uploads",
    )
    image = models.FileField(upload_to="uploads/")  # PNG, orientation applied, no metadata
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [exactly_one_owner("upload_has_exactly_one_owner")]

    def __str__(self) -> str:
        return f"upload {str(self.id)[:8]}"


class ExtraFace(models.Model):
    """A further photo of the same person, for a better likeness: identity only (the first photo,
    `GenerationJob.face_image`, is the one the identity score is measured against)."""

    job = models.ForeignKey(GenerationJob, on_delete=models.CASCADE, related_name="extra_faces")
    position = models.PositiveSmallIntegerField()
    image = models.FileField(upload_to="faces/")

    class Meta:
        ordering = ["job", "position"]
        constraints = [models.UniqueConstraint(fields=["job", "position"], name="extra_face_position")]

    def __str__(self) -> str:
        return f"photo {self.position + 2} of job {str(self.job_id)[:8]}"


class WebhookSecret(models.Model):
    """The key a user's webhook deliveries are signed with (Standard Webhooks: `whsec_` + base64). Kept as
    is, since signing needs it; shown to its owner once, when made or rotated."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_secret"
    )
    secret = models.CharField(max_length=80)
    created_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"webhook secret of {self.user}"


class WebhookEvent(models.TextChoices):
    STARTED = "generation.started"
    SUCCEEDED = "generation.succeeded"
    FAILED = "generation.failed"
    CANCELED = "generation.canceled"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Delivered"
    FAILED = "failed", "Given up"


class WebhookDelivery(models.Model):
    """One event of one job for its webhook URL. Its id is the `webhook-id` every attempt carries, so a
    receiver can drop repeats; `payload` is fixed when the event happens, so every attempt sends the same
    body."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey(GenerationJob, on_delete=models.CASCADE, related_name="webhook_deliveries")
    event = models.CharField(max_length=32, choices=WebhookEvent.choices)
    url = models.URLField(max_length=500)
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="HTTP status, if any.")
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="webhook_due")]
        constraints = [models.UniqueConstraint(fields=["job", "event"], name="one_delivery_per_job_event")]

    def __str__(self) -> str:
        return f"{self.event} of job {str(self.job_id)[:8]} ({self.state})"

    @property
    def webhook_id(self) -> str:
        return f"msg_{self.id.hex}"
