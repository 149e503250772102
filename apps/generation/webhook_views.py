"""The account's Webhooks page (/portraits/webhooks/): the signing secret (made or rotated here, shown
once), the delivery log of the user's jobs, and redelivering one."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from apps.generation import webhooks
from apps.generation.models import WebhookDelivery

LOG_SIZE = 50


def _page(request, *, new_secret: str | None = None):
    deliveries = WebhookDelivery.objects.filter(job__user=request.user).select_related("job")[:LOG_SIZE]
    context = {
        "has_secret": webhooks.has_secret(request.user),
        "new_secret": new_secret,
        "deliveries": deliveries,
        "retry_after": webhooks.RETRY_AFTER_S,
    }
    response = render(request, "generation/webhooks.html", context)
    if new_secret:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_safe
def webhook_settings(request):
    return _page(request)


@login_required
@require_POST
def webhook_secret_rotate(request):
    """The secret is in this one response only; deliveries from now on are signed with it."""
    return _page(request, new_secret=webhooks.secret_rotate(user=request.user))


@login_required
@require_POST
def webhook_redeliver(request, delivery_id):
    delivery = get_object_or_404(WebhookDelivery, pk=delivery_id, job__user=request.user)
    webhooks.redeliver(delivery)
    messages.success(request, f"{delivery.event} will be sent again in a moment, with the same webhook-id.")
    return redirect("portraits:webhooks")
