"""Why a submission was refused, before any token moved: an HTTP status, a stable code, plain words."""

from __future__ import annotations


class SubmitRefused(Exception):
    def __init__(self, status: int, code: str, message: str, *, field: str | None = None):
        self.status, self.code, self.message, self.field = status, code, message, field
        super().__init__(message)
