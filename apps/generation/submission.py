"""A submission as POST /api/generations receives it, in either of its two forms, parsed into one shape.

- `multipart/form-data` (the page): `face` and `extra_faces` are file parts, `params` a JSON text part.
- `application/json` (programs): `face` and `extra_faces` are each a `data:` URI or the id of a photo sent
  ahead with POST /api/uploads; `params` an object.

Both are one schema in the OpenAPI document (GenerationFields plus the photos), `params` typed field by
field from the catalogue. Here only the request's shape is checked; what the values mean (the idea's
words, the parameters against the catalogue, the photos) is checked once, after, by the same code for
both forms.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Annotated

from django.core.exceptions import RequestDataTooBig
from ninja import Field, Schema
from ninja.errors import ValidationError
from pydantic import ConfigDict, WithJsonSchema
from pydantic import ValidationError as PydanticValidationError

from apps.generation import webhook_http
from apps.generation.errors import Refused
from apps.generation.models import MAX_EXTRA_FACES
from apps.generation.photo_uploads import PhotoSource
from apps.generation.uploads import (
    IDEA_IN_OPENAPI,
    MAX_BYTES,
    SEED_IN_OPENAPI,
    UploadError,
    check_extra_count,
)
from inference.params import GenerationParams

MAX_PARAMS_CHARS = 4096  # every parameter of the catalogue set at once takes well under 1,000
# "": no Content-Type at all, which Django reads as an empty form (its fields then missing: 422)
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded", "")
FORM_FIELDS = ("face", "idea", "params", "concept_seed", "wall_consent", "webhook_url")
DATA_URI = re.compile(r"data:image/(?:jpeg|png|webp);base64,", re.IGNORECASE)
MAX_DATA_URI = len("data:image/jpeg;base64,") + 4 * (MAX_BYTES // 3 + 1) + 4  # MAX_BYTES, base64-encoded

PARAMS_IN_OPENAPI = {
    # One alternative under anyOf: django-ninja would otherwise flatten a nested object's fields into
    # the form's own.
    "anyOf": [GenerationParams.model_json_schema()],
    "description": "Staff and operators only: generation parameters. Omitted fields take the workers' "
    "defaults; the job stores them all, resolved (GET /api/generations/{id} shows them).",
}
WEBHOOK_URL_IN_OPENAPI = {
    "type": "string",
    "format": "uri",
    "maxLength": webhook_http.MAX_URL,
    "description": "API keys only: an https URL that receives the job's events, signed per the "
    "Standard Webhooks spec with the signing secret from the Webhooks page.",
}
PHOTO_REF_IN_OPENAPI = {
    "type": "string",
    "maxLength": MAX_DATA_URI,
    "description": "A photo: a `data:image/jpeg|png|webp;base64,...` URI, or the `id` POST /api/uploads "
    "returned for it. The same checks as a file part (JPEG, PNG or WebP, ≤ 10 MB, ≤ 4096 px a side).",
}


class GenerationFields(Schema):
    """What both forms carry alike."""

    idea: Annotated[str, WithJsonSchema(IDEA_IN_OPENAPI)]
    wall_consent: bool = Field(False, description="Narcis may show the portrait on the public PhotoWall.")
    params: Annotated[dict | None, WithJsonSchema(PARAMS_IN_OPENAPI)] = None
    concept_seed: Annotated[int | None, WithJsonSchema({**SEED_IN_OPENAPI, "title": "Concept Seed"})] = None
    webhook_url: Annotated[str | None, WithJsonSchema(WEBHOOK_URL_IN_OPENAPI)] = None


class GenerationJsonIn(GenerationFields):
    model_config = ConfigDict(extra="forbid")

    face: Annotated[str, WithJsonSchema(PHOTO_REF_IN_OPENAPI)]
    extra_faces: list[Annotated[str, WithJsonSchema(PHOTO_REF_IN_OPENAPI)]] = Field(
        default_factory=list, max_length=MAX_EXTRA_FACES
    )


@dataclass(frozen=True)
class Submission:
    fields: GenerationFields
    photos: list[PhotoSource]  # the selfie first


def parse(request) -> Submission:
    """The request's submission; 415 for another content type, 422 for a missing or mistyped field,
    400 for a malformed body or `params`, 413 for a photo past MAX_BYTES."""
    if request.content_type == "application/json":
        return _from_json(request)
    if request.content_type in FORM_TYPES:
        return _from_form(request)
    message = "Send multipart/form-data (file parts) or application/json (data: URIs or upload ids)."
    raise Refused(415, "unsupported_media_type", message)


def _from_form(request) -> Submission:
    for name in FORM_FIELDS:  # two `face` or two `idea` parts: refused, never silently the last one
        if len(request.FILES.getlist(name)) + len(request.POST.getlist(name)) > 1:
            raise Refused(400, "repeated_field", f"Send one {name}, not several.")
    values = {name: request.POST[name] for name in FORM_FIELDS if name in request.POST and name != "face"}
    if "params" in values:
        values["params"] = _params_text(values["params"])
    fields = _validated(GenerationFields, values, location="form")
    face = request.FILES.get("face")
    if face is None:
        raise ValidationError([{"type": "missing", "loc": ["form", "face"], "msg": "Field required"}])
    more = request.FILES.getlist("extra_faces")
    check_extra_count(len(more))  # before any part is read
    photos = [PhotoSource("face", data=_read(face))]
    photos += [PhotoSource("extra_faces", data=_read(part)) for part in more]
    return Submission(fields, photos)


def _from_json(request) -> Submission:
    try:
        body = json.loads(request.body)
    except RequestDataTooBig:
        message = "The request is too large for inline photos: send them with POST /api/uploads first."
        raise Refused(413, "body_too_large", message) from None
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past the parser's depth
        raise Refused(400, "malformed_body", "The request body is not a JSON object.") from None
    if not isinstance(body, dict):
        raise Refused(400, "malformed_body", "The request body must be a JSON object.")
    submitted = _validated(GenerationJsonIn, body, location="body")
    if submitted.params is not None:
        _check_flat(submitted.params)
    refs = [("face", submitted.face), *(("extra_faces", ref) for ref in submitted.extra_faces)]
    photos = [_photo_ref(field, ref) for field, ref in refs]
    fields = GenerationFields(**submitted.model_dump(include=set(GenerationFields.model_fields)))
    return Submission(fields, photos)


def _validated(model: type[Schema], values: dict, *, location: str):
    try:
        return model.model_validate(values)
    except PydanticValidationError as error:
        errors = json.loads(error.json(include_url=False, include_input=False))
        raise ValidationError([{**e, "loc": [location, *e["loc"]]} for e in errors]) from None


def _params_text(raw: str) -> dict | None:
    """The form's `params` part: a JSON object, bounded before it is parsed (MAX_PARAMS_CHARS)."""
    if not raw.strip():
        return None
    if len(raw) > MAX_PARAMS_CHARS:
        message = f"params must be at most {MAX_PARAMS_CHARS} characters of JSON."
        raise Refused(400, "invalid_params", message)
    try:
        params = json.loads(raw)
    except json.JSONDecodeError as error:
        raise Refused(400, "invalid_params", f"params must be a JSON object ({error.msg}).") from None
    except RecursionError:
        raise Refused(400, "invalid_params", "params must be a flat JSON object, not nested.") from None
    if not isinstance(params, dict):
        raise Refused(400, "invalid_params", "params must be a JSON object of parameter names and values.")
    return _check_flat(params)


def _check_flat(params: dict) -> dict:
    """Each value one JSON scalar, so no nesting reaches the validator's recursion."""
    nested = [name for name, value in params.items() if isinstance(value, dict | list)]
    if nested:
        message = f"params values are numbers, strings or booleans; {nested[0]} is not."
        raise Refused(400, "invalid_params", message, field=nested[0])
    return params


def _read(upload) -> bytes:
    return upload.read(MAX_BYTES + 1)  # one byte past the limit is enough to refuse it


def _photo_ref(field: str, ref: str) -> PhotoSource:
    """A data: URI, decoded (bounded first), or an upload's id (looked up with the owner, later)."""
    prefix = DATA_URI.match(ref)
    if prefix is None:
        if ref.startswith("data:"):
            message = "A photo's data: URI must be data:image/jpeg, png or webp, base64-encoded."
            raise UploadError("invalid_data_uri", message, field)
        return PhotoSource(field, upload_id=ref)
    if len(ref) > MAX_DATA_URI:
        message = f"The photo is larger than {MAX_BYTES // 2**20} MB. Please use a smaller one."
        raise UploadError("file_too_large", message, field)
    try:
        return PhotoSource(field, data=base64.b64decode(ref[prefix.end() :], validate=True))
    except (binascii.Error, ValueError):
        raise UploadError("invalid_data_uri", "The photo's data: URI is not valid base64.", field) from None


def openapi_request_body() -> dict:
    """Both forms of the one operation: the same fields; photos as file parts or as references."""
    fields = GenerationFields.model_json_schema()
    assert "$defs" not in fields  # inlined below: no reference may dangle
    binary = {"type": "string", "format": "binary"}
    described = "Up to three more photos of the same person, each checked like `face`. The identity score "
    described += "is measured against `face`."
    form = {
        "type": "object",
        "required": ["idea", "face"],
        "properties": {
            **fields["properties"],
            "face": {**binary, "description": "JPEG, PNG or WebP, ≤ 10 MB, ≤ 4096 px a side."},
            "extra_faces": {
                "type": "array",
                "items": binary,
                "maxItems": MAX_EXTRA_FACES,
                "description": described + " A part each, all named extra_faces.",
            },
        },
    }
    document = GenerationJsonIn.model_json_schema()
    assert "$defs" not in document
    document["properties"]["params"] = {
        **PARAMS_IN_OPENAPI,
        "anyOf": [*PARAMS_IN_OPENAPI["anyOf"], {"type": "null"}],
    }
    document["properties"]["extra_faces"]["description"] = described
    return {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": form,
                "encoding": {"params": {"contentType": "application/json"}},
            },
            "application/json": {"schema": document},
        },
    }
