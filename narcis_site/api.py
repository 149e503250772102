"""The root NinjaAPI at /api/. Each app contributes a router; OpenAPI docs at /api/docs."""

from ninja import NinjaAPI

from apps.generation.api import router as generation_router
from apps.generation.concept_api import router as concept_router
from apps.sessions_tokens.api import router as sessions_tokens_router
from narcis_site.api_errors import install_error_handlers

api = NinjaAPI(
    title="Narcis API",
    version="1.0.0",
    description="Artistic AI portraits that keep the sitter's identity. Errors carry a stable `code`.",
    urls_namespace="api",
)
install_error_handlers(api)
api.add_router("", sessions_tokens_router)
api.add_router("", generation_router)
api.add_router("", concept_router)
