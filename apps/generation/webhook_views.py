"""The account's Webhooks page (/portraits/webhooks/): the signing secret (made or rotated here, shown
once), the delivery log of the user's jobs, and redelivering one."""

from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from apps.generation import webhook_http, webhooks
from apps.generation.models import WebhookDelivery

LOG_SIZE = 50
_HTTP_STATUS = re.compile(r"HTTP \d{3}")


def shown_error(error: str) -> str:
    """A delivery's last error as the page shows it: our own fixed messages and HTTP statuses as they
    are; anything else (socket text and addresses kept by rows from before the messages were fixed) as
    the generic connection failure."""
    if not error or error in webhook_http.USER_MESSAGES or error == webhooks.NO_SECRET:
        return error
    return error if _HTTP_STATUS.fullmatch(error) else webhook_http.COULD_NOT_CONNECT


def _page(request, *, new_secret: str | None = None):
    deliveries = list(WebhookDelivery.objects.filter(job__user=request.user).select_related("job")[:LOG_SIZE])
    for delivery in deliveries:
        delivery.shown_error = shown_error(delivery.last_error)
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
