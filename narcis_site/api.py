"""The root NinjaAPI at /api/. Each app contributes a router; OpenAPI docs at /api/docs."""

from ninja import NinjaAPI

from apps.generation.api import router as generation_router
from apps.generation.concept_api import router as concept_router
from apps.sessions_tokens.api import router as sessions_tokens_router
from narcis_site.api_errors import install_error_handlers

API_KEY_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API key from the account page (`nrc_...`). GET operations need the "
    "`generations:read` scope, all others `generations:write`. Without it the caller is the browser's "
    "cookie session (log-in or guest), which must echo the CSRF cookie in `X-CSRFToken`.",
}
# What ApiKeyMiddleware answers before any operation runs, on every operation.
KEY_REFUSALS = {
    401: "The API key is not valid, revoked (`api_key_revoked`) or expired (`api_key_expired`).",
    403: "The API key lacks the scope this operation needs (`insufficient_scope`).",
    429: "Too many requests with this API key (`rate_limited`, with Retry-After).",
}


class NarcisAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        """Declares the API-key scheme as an alternative to the cookie session on every operation."""
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        schema.setdefault("components", {}).setdefault("securitySchemes", {})["ApiKey"] = API_KEY_SCHEME
        error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
        for operations in schema["paths"].values():
            for operation in operations.values():
                operation["security"] = [{}, {"ApiKey": []}]
                responses = operation["responses"]
                for status, meaning in KEY_REFUSALS.items():
                    # ninja keys responses by int; a str key would print the status twice in the JSON
                    if status not in responses and str(status) not in responses:
                        responses[status] = {"description": meaning, "content": error}
        return schema


api = NarcisAPI(
    title="Narcis API",
    version="1.0.0",
    description="Artistic AI portraits that keep the sitter's identity. Errors carry a stable `code`.",
    urls_namespace="api",
)
install_error_handlers(api)
api.add_router("", sessions_tokens_router)
api.add_router("", generation_router)
api.add_router("", concept_router)
