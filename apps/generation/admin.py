"""Every generation, for staff: the portrait, its prompt, its metadata and its identity score.

Apps on top of generation add their own actions to this list with `add_action` (photowall publishes
portraits to the wall); generation knows nothing of them.
"""

import json
from collections.abc import Callable

from django.contrib import admin
from django.utils.html import format_html

from apps.generation.models import GenerationJob, WebhookDelivery

_added_actions: list[tuple[Callable, str]] = []


def add_action(action: Callable, *, permission: str) -> None:
    """Offer `action(modeladmin, request, queryset)` on the generation list to staff with `permission`."""
    if all(existing is not action for existing, _ in _added_actions):
        _added_actions.append((action, permission))


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = ("thumbnail", "idea", "status", "owner", "wall_consent", "identity_score", "created_at")
    list_filter = ("status", "priority", "wall_consent", "suspect")
    search_fields = ("idea", "prompt", "id")
    date_hierarchy = "created_at"
    list_per_page = 50
    ordering = ("-created_at",)
    readonly_fields = (
        "preview",
        "prompt",
        "negative_prompt",
        "metadata_pretty",
        "identity_score",
        "status",
        "attempts",
        "suspect",
        "infra_faults",
        "worker_id",
        "error_message",
        "error_detail",
        "created_at",
        "started_at",
        "finished_at",
        "wall_consent",
        "erased_at",
    )
    fields = readonly_fields + ("idea",)

    def get_actions(self, request):
        actions = super().get_actions(request)
        for action, permission in _added_actions:
            if request.user.has_perm(permission):
                actions[action.__name__] = self.get_action(action)
        return actions

    def has_add_permission(self, request):
        return False  # jobs come from visitors and operators, through the API

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # a job is the record of a token spent or refunded; it is never deleted by hand

    @admin.display(description="Portrait")
    def thumbnail(self, job):
        if not job.result_image:
            return "—"
        return format_html(
            '<img src="{}" alt="" width="64" height="64" style="object-fit:cover">', job.result_image.url
        )

    @admin.display(description="Portrait")
    def preview(self, job):
        if not job.result_image:
            return "—"
        return format_html('<img src="{}" alt="" style="max-width:384px;height:auto">', job.result_image.url)

    @admin.display(description="Owner")
    def owner(self, job):
        return job.user or (f"guest {str(job.guest_session_id)[:8]}" if job.guest_session_id else "—")

    @admin.display(description="Identity score")
    def identity_score(self, job):
        score = (job.metadata or {}).get("identity_score")
        return "—" if score is None else f"{score:.2f}"

    @admin.display(description="Metadata")
    def metadata_pretty(self, job):
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", json.dumps(job.metadata, indent=2))


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """Read-only: what was sent where, how often, and the last answer (the signing secret never shows)."""

    list_display = (
        "created_at",
        "event",
        "job",
        "url",
        "state",
        "attempts",
        "last_status",
        "next_attempt_at",
    )
    list_filter = ("state", "event")
    search_fields = ("job__id", "url")
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
