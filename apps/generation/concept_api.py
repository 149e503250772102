"""GET /api/mecene?idea=...: the page's live preview of the portrait concept the worker will use.

Send the returned `seed` back as `concept_seed` when submitting, and the portrait is painted from this
very concept. Throttled per visitor: the agent is cheap offline but an LLM behind it is not.
"""

from __future__ import annotations

import random

from ninja import Router, Schema
from ninja.throttling import SimpleRateThrottle

from apps.generation.uploads import check_concept_seed, clean_idea

router = Router(tags=["mecene"])
MAX_SEED = 2**31 - 1


class VisitorThrottle(SimpleRateThrottle):
    """30 previews a minute per account, guest session, or (without either) client address."""

    scope = "mecene"

    def __init__(self, rate: str = "30/m"):
        super().__init__(rate)

    def get_cache_key(self, request) -> str:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            ident = f"user-{user.pk}"
        else:
            guest = request.guest.get(create=False)
            ident = f"guest-{guest.pk}" if guest is not None else f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class ConceptOut(Schema):
    words: str
    seed: int
    idea: str
    keywords: dict[str, list[str]]
    chosen: list[str]
    prompt: str
    engine: str


@router.get(
    "/mecene", response=ConceptOut, throttle=[VisitorThrottle()], summary="Preview the portrait concept"
)
def concept_preview(request, idea: str, seed: int | None = None):
    """`idea`: 1 to 4 words. `seed` (optional, 0 to 2^31-1): the same seed gives the same concept;
    without it a fresh one is drawn, so the visitor can ask for another take."""
    from inference.mecene.agent import Mecene  # loads the embedding model on first use

    words = clean_idea(idea)
    if seed is None:
        seed = random.randint(0, MAX_SEED)
    check_concept_seed(seed)
    concept = Mecene.from_env().run(words, seed=seed)
    return {field: getattr(concept, field) for field in ConceptOut.model_fields}
