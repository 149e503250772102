"""A request body Django cannot parse is a JSON 400 under /api/, never a 500 or an HTML error page.

Multipart without its boundary, a boundary the body does not match, too many fields or files, a body
past DATA_UPLOAD_MAX_MEMORY_SIZE: Django raises while parsing, wherever request.POST is first read (the
CSRF check, the API's form parser). Parsing here first turns each into the API's error shape.
"""

from __future__ import annotations

from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.http import JsonResponse
from django.http.multipartparser import MultiPartParserError

from narcis_site.api_errors import error_body

API_PREFIX = "/api/"


class MalformedBodyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(API_PREFIX) and request.method in ("POST", "PUT", "PATCH"):
            try:
                request.POST  # noqa: B018 - parses once; Django keeps the result for everyone after
            except RequestDataTooBig:
                body = error_body("body_too_large", "The request is too large.")
                return JsonResponse(body, status=413)
            except (MultiPartParserError, BadRequest, SuspiciousOperation, UnicodeDecodeError) as error:
                message = f"The request body could not be read ({error}). Send multipart/form-data."
                return JsonResponse(error_body("malformed_body", message[:300]), status=400)
        return self.get_response(request)
