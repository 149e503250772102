"""One error shape for the whole API: {"code": <stable machine code>, "message": <plain words>}."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.http.request import RawPostDataException
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

from apps.generation.errors import Refused
from apps.generation.uploads import UploadError
from apps.sessions_tokens.errors import TokenError


def error_body(code: str, message: str, **extra) -> dict:
    return {"code": code, "message": message, **extra}


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(TokenError)
    def token_error(request, exc: TokenError):
        return api.create_response(request, error_body(exc.code, exc.message), status=exc.status)

    @api.exception_handler(UploadError)
    def upload_error(request, exc: UploadError):
        body = error_body(exc.code, exc.message, field=exc.field)
        return api.create_response(request, body, status=413 if exc.code == "file_too_large" else 400)

    @api.exception_handler(Refused)
    def refused(request, exc: Refused):
        extra = {"field": exc.field} if exc.field else {}
        response = api.create_response(request, error_body(exc.code, exc.message, **extra), status=exc.status)
        if exc.retry_after is not None:
            response["Retry-After"] = str(exc.retry_after)
        return response

    @api.exception_handler(RawPostDataException)
    def form_sent_to_a_json_operation(request, exc):
        # A multipart body was parsed as a form (MalformedBodyMiddleware) where the operation reads JSON.
        message = "This operation takes a JSON body: send it as application/json."
        return api.create_response(request, error_body("unsupported_media_type", message), status=415)

    @api.exception_handler(ValidationError)
    def validation_error(request, exc: ValidationError):
        body = error_body("invalid_request", "Some fields are missing or invalid.", errors=exc.errors)
        return api.create_response(request, body, status=422)

    @api.exception_handler(AuthenticationError)
    def authentication_error(request, exc):
        return api.create_response(request, error_body("not_authenticated", "Please log in."), status=401)

    @api.exception_handler(PermissionDenied)
    def permission_denied(request, exc):
        message = str(exc) or "You are not allowed to do that."
        return api.create_response(request, error_body("forbidden", message), status=403)

    @api.exception_handler(Http404)
    def not_found(request, exc):
        return api.create_response(request, error_body("not_found", "Not found."), status=404)

    @api.exception_handler(Throttled)
    def throttled(request, exc: Throttled):
        body = error_body("rate_limited", "Too many requests. Please wait a moment.")
        response = api.create_response(request, body, status=429)
        if exc.wait:
            response["Retry-After"] = str(int(exc.wait) + 1)
        return response

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        code = getattr(exc, "code", None) or f"http_{exc.status_code}"
        if str(exc).startswith("Cannot parse request body"):  # ninja's words for JSON it cannot read
            code = "malformed_body"
        return api.create_response(request, error_body(code, str(exc)), status=exc.status_code)
