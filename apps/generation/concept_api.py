"""GET /api/mecene?idea=...: the page's live preview of the portrait concept the worker will use.

Send the returned `seed` back as `concept_seed` when submitting, and the portrait is painted from this
very concept (apps.generation.concepts keeps it). Throttled per visitor and per client address. The
view is async and runs the agent on a worker thread: under ASGI every sync view shares one thread, and
an LLM behind the agent can take seconds, which must not stall the rest of the site.
"""

from __future__ import annotations

import random
from typing import Annotated

from asgiref.sync import sync_to_async
from ninja import Router, Schema
from ninja.errors import Throttled
from ninja.throttling import SimpleRateThrottle
from pydantic import WithJsonSchema

from apps.generation import concepts, selectors
from apps.generation.errors import errors
from apps.generation.uploads import IDEA_IN_OPENAPI, SEED_IN_OPENAPI, check_concept_seed, clean_idea
from apps.sessions_tokens.allowances import address_digest, client_address
from inference.params import MAX_SEED

router = Router(tags=["mecene"])


class VisitorThrottle(SimpleRateThrottle):
    """30 previews a minute per account, guest session, or (without either) client address.

    The address is the one guest allowances count (`allowances.client_address`): a client cannot
    pick its own key.
    """

    scope = "mecene"

    def __init__(self, rate: str = "30/m"):
        super().__init__(rate)

    def get_cache_key(self, request) -> str:
        ident = selectors.viewer_key(request) or f"ip-{client_address(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AddressThrottle(SimpleRateThrottle):
    """60 previews a minute per client address, whatever cookies it sends: a new cookie is free to get,
    so the visitor's own throttle alone would let a script ask the LLM without end."""

    scope = "mecene-address"

    def __init__(self, rate: str = "60/m"):
        super().__init__(rate)

    def get_cache_key(self, request) -> str:
        return self.cache_format % {"scope": self.scope, "ident": address_digest(request)}


def _throttled(request) -> Throttled | None:
    for throttle in (AddressThrottle(), VisitorThrottle()):
        if not throttle.allow_request(request):
            return Throttled(wait=throttle.wait())
    return None


class ConceptOut(Schema):
    words: str
    seed: int
    idea: str
    keywords: dict[str, list[str]]
    chosen: list[str]
    prompt: str
    engine: str
    notes: list[str]  # e.g. why fewer than 15 keywords: the others were filler, repeats or contradictions


def _concept(words: str, seed: int) -> dict:
    from inference.mecene.agent import Mecene  # loads the embedding model on first use

    concept = Mecene.from_env().run(words, seed=seed)
    concepts.remember(concept)
    return {field: getattr(concept, field) for field in ConceptOut.model_fields}


@router.get(
    "/mecene",
    response={200: ConceptOut, **errors(400, 422, 429)},
    summary="Preview the portrait concept",
)
async def concept_preview(
    request,
    idea: Annotated[str, WithJsonSchema(IDEA_IN_OPENAPI)],
    seed: Annotated[int | None, WithJsonSchema(SEED_IN_OPENAPI)] = None,
):
    """`idea`: 1 to 4 words. `seed` (optional, 0 to 2^31-1): the same seed gives the same concept;
    without it a fresh one is drawn, so the visitor can ask for another take."""
    words = clean_idea(idea)
    seed = random.randint(0, MAX_SEED) if seed is None else check_concept_seed(seed)
    refusal = await sync_to_async(_throttled)(request)  # reads the session: not on the loop
    if refusal is not None:
        raise refusal
    return await sync_to_async(_concept, thread_sensitive=False)(words, seed)
