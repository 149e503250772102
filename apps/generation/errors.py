"""Why a request was refused: an HTTP status, a stable code, plain words; and that shape in the API's
OpenAPI document (narcis_site.api_errors writes every refusal in it)."""

from __future__ import annotations

from typing import Any

from ninja import Schema


class ErrorOut(Schema):
    code: str  # stable, for programs: "no_tokens", "invalid_params", "rate_limited", ...
    message: str  # for people: what was wrong and what to do
    field: str | None = None  # the request field at fault, when one is
    errors: list[dict[str, Any]] | None = None  # each invalid field, for "invalid_request" (422)


def errors(*statuses: int) -> dict:
    """The `response` entries documenting these error statuses, for an operation's decorator."""
    return dict.fromkeys(statuses, ErrorOut)


class Refused(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        retry_after: int | None = None,
    ):
        self.status, self.code, self.message, self.field = status, code, message, field
        self.retry_after = retry_after  # seconds, sent as Retry-After
        super().__init__(message)
