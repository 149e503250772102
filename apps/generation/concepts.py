"""Concepts a visitor previewed (GET /api/mecene), kept for an hour so the worker paints exactly that one.

The offline engine is deterministic per seed, but an LLM is not: without this, a job submitted with the
previewed `concept_seed` could be painted from different keywords than the visitor saw.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache

from inference.mecene.agent import Concept

KEEP_SECONDS = 3600


def _key(words: str, seed: int) -> str:
    return "mecene:concept:" + hashlib.sha1(f"{words}\n{seed}".encode()).hexdigest()


def remember(concept: Concept) -> None:
    cache.set(_key(concept.words, concept.seed), concept.as_dict(), timeout=KEEP_SECONDS)


def previewed(words: str, seed: int) -> Concept | None:
    data = cache.get(_key(words, seed))
    return Concept(**data) if data else None
