"""The offline engine: no network, no LLM. Keywords come from our lexicon, ranked by how close their
sentence embeddings sit to the visitor's words (and the concept); the concept text comes from templates.

Randomness is seeded and only breaks near-ties: the Gumbel trick samples among the most similar
keywords, so one seed always gives the same result, another seed a different but still relevant one.
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np

from inference.mecene.embeddings import SentenceEmbedder, default_embedder
from inference.mecene.lexicon import CATEGORIES, Lexicon

PER_CATEGORY = 16  # keywords offered per category by generate_meta_keywords
CHOSEN = 15  # keywords in the final prompt
POOL = 2  # sample each category's offer from its PER_CATEGORY * POOL most similar keywords
TEMPERATURE = 0.03  # cosine gap that counts as one unit of Gumbel noise: only near-ties swap
# Tuned on the 30-idea evaluation set (tests/inference/mecene/test_keyword_choice.py, docs/mecene.md):
CATEGORY_RELEVANCE = 0.15  # cosine to the words a category's best needs; below it the category stays empty
MIN_RELEVANCE = 0.3  # ... and any further keyword: below it, it would be filler
MAX_SIMILAR = 0.8  # cosine between two keywords above which the second only repeats the first
MAX_PER_CATEGORY = 5  # so no category crowds out the others
MMR_LAMBDA = 0.9  # relevance against diversity, after each category's best

_TEMPLATES = (
    "A portrait that turns '{words}' into a single moment: the sitter, with {emotion}, stands in {place} "
    "in the {time}. It is rendered as {style} in {medium}, {color} shaping the light, {subject} framing the "
    "figure, and a quiet thread of {theme} running through the whole composition.",
    "Imagine '{words}' as a face: {emotion} in the eyes, {subject} close at hand, {place} falling away "
    "behind. The moment belongs to the {time}; the palette is {color}. Painted as {style} with the "
    "texture of {medium}, the portrait speaks of {theme} without a single word.",
    "The sitter becomes the idea of '{words}'. {place_cap} surrounds them in the {time}, {subject} catches "
    "the light, and their face holds {emotion}. Rendered as {style} in {medium} and built on {color}, "
    "it makes {theme} the story the viewer reads first.",
    "'{words}', seen as {style}: a portrait in {medium} of someone whose expression carries {emotion}. "
    "Around them, {place} in the {time}, touched by {color}, and {subject} that gives the scene its weight. "
    "The whole image is a meditation on {theme}.",
    "Picture the sitter in the {time}, in {place}, lit in {color}. {subject_cap} and a mood of {emotion} "
    "carry the idea of '{words}', while the {style} treatment in {medium} lifts everyday likeness into a "
    "portrait about {theme}.",
)
_SLOTS = {
    "emotion": "emotions",
    "place": "places",
    "time": "time",
    "style": "styles",
    "medium": "mediums",
    "color": "colors",
    "subject": "subjects",
    "theme": "themes",
}

BASE_NEGATIVE = (
    "blurry, low quality, lowres, deformed, disfigured, bad anatomy, extra fingers, "
    "watermark, signature, text, cropped face, out of frame"
)
_PHOTOGRAPHIC = ("photo", "film", "lens", "camera", "polaroid", "daguerreotype", "exposure")


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-9)


def _gumbel_top(scores: np.ndarray, k: int, rng: np.random.Generator, pool: int) -> list[int]:
    """k indices sampled among the `pool` best scores, favouring the best (Gumbel top-k), best first."""
    candidates = np.argsort(-scores)[: max(k, pool)]
    keys = scores[candidates] / TEMPERATURE + rng.gumbel(size=len(candidates))
    picked = candidates[np.argsort(-keys)[:k]]
    return sorted(picked.tolist(), key=lambda i: -scores[i])


class OfflineEngine:
    name = "offline"

    def __init__(self, embedder: SentenceEmbedder | None = None, lexicon: Lexicon | None = None):
        self.embedder = embedder or default_embedder()
        self.lexicon = lexicon or Lexicon.load()
        self._vectors = {c: self.embedder.encode(list(w)) for c, w in self.lexicon.keywords.items()}
        self._by_keyword = {
            word: self._vectors[c][i]
            for c, words in self.lexicon.keywords.items()
            for i, word in enumerate(words)
        }

    def _keyword_vectors(self, keywords: list[str]) -> np.ndarray:
        """Lexicon keywords reuse their vectors; only new ones (an LLM's) are encoded."""
        missing = [w for w in keywords if w not in self._by_keyword]
        fresh = dict(zip(missing, self.embedder.encode(missing), strict=True)) if missing else {}
        return np.stack([self._by_keyword.get(w, fresh.get(w)) for w in keywords])

    def similarity(self, text: str, keywords: list[str]) -> np.ndarray:
        """Cosine similarity of each keyword to the text (for ranking and for tests)."""
        query = self.embedder.encode([text])[0]
        return self._keyword_vectors(keywords) @ query

    def _query(self, words: str, idea: str | None) -> np.ndarray:
        # The visitor's words lead; the concept adds context (its setting, its era) without taking over.
        words_vector = self.embedder.encode([words])[0]  # single texts are cached by the embedder
        if idea is None:
            return words_vector
        return _unit(0.7 * words_vector + 0.3 * self.embedder.encode([idea])[0])

    def idea(self, words: str, seed: int) -> str:
        rng = np.random.default_rng([seed, 1])
        query = self._query(words, None)
        slots = {}
        for slot, category in _SLOTS.items():
            scores = self._vectors[category] @ query
            # The most relevant of each category, as choose() takes first: the concept and the keywords agree.
            slots[slot] = self.lexicon.keywords[category][int(np.argmax(scores))]
        slots["place_cap"] = slots["place"][:1].upper() + slots["place"][1:]
        slots["subject_cap"] = slots["subject"][:1].upper() + slots["subject"][1:]
        template = _TEMPLATES[int(rng.integers(len(_TEMPLATES)))]
        return template.format(words=words, **slots)

    def meta_keywords(self, words: str, idea: str, seed: int) -> dict[str, list[str]]:
        rng = np.random.default_rng([seed, 2])
        query = self._query(words, idea)
        offer = {}
        for category in CATEGORIES:
            scores = self._vectors[category] @ query
            picked = _gumbel_top(scores, PER_CATEGORY, rng, pool=PER_CATEGORY * POOL)
            offer[category] = [self.lexicon.keywords[category][i] for i in picked]
        return offer

    def choose(
        self, words: str, idea: str, keywords: dict[str, list[str]], seed: int
    ) -> tuple[list[str], str]:
        """Up to CHOSEN keywords, relevant to the visitor's words and diverse: each category's best
        first (so the prompt names a style, a medium, a palette...), then by maximal marginal relevance.
        A keyword is left out when it repeats a chosen one (contains it or is contained in it, or sits
        closer than MAX_SIMILAR), contradicts one (Lexicon.opposed: bright vs dark, warm vs cool), would
        give its category more than MAX_PER_CATEGORY, or is less relevant than the bound of its stage
        (CATEGORY_RELEVANCE, MIN_RELEVANCE): fewer than CHOSEN is better than filler. The keywords the
        concept text names come first. Returns them with the negative prompt."""
        rng = np.random.default_rng([seed, 3])
        candidates = list(dict.fromkeys((c, w) for c in CATEGORIES for w in keywords.get(c, [])))
        if not candidates:
            return [], BASE_NEGATIVE
        vectors = self._keyword_vectors([w for _, w in candidates])
        relevance = vectors @ self._query(words, None)
        # Seeded noise of a fraction of TEMPERATURE: it only reorders near-ties between seeds.
        ranking = relevance + 0.5 * TEMPERATURE * rng.gumbel(size=len(candidates))
        chosen: list[int] = []

        def fits(i: int, bound: float) -> bool:
            category, word = candidates[i]
            if relevance[i] < bound or i in chosen:
                return False
            if sum(candidates[j][0] == category for j in chosen) >= MAX_PER_CATEGORY:
                return False
            return not any(
                _contained(word, candidates[j][1])
                or float(vectors[i] @ vectors[j]) > MAX_SIMILAR
                or self.lexicon.opposed(word, candidates[j][1])
                for j in chosen
            )

        for category in CATEGORIES:
            in_category = [i for i, (c, _) in enumerate(candidates) if c == category]
            best = max(
                (i for i in in_category if fits(i, CATEGORY_RELEVANCE)), key=ranking.__getitem__, default=None
            )
            if best is not None:
                chosen.append(best)
        while len(chosen) < CHOSEN:
            open_ = [i for i in range(len(candidates)) if fits(i, MIN_RELEVANCE)]
            if not open_:
                break
            redundancy = (vectors[open_] @ vectors[chosen].T).max(axis=1) if chosen else np.zeros(len(open_))
            marginal = MMR_LAMBDA * ranking[open_] - (1 - MMR_LAMBDA) * redundancy
            chosen.append(open_[int(np.argmax(marginal))])
        named = {w for _, w in self._named_in(idea)}
        picked = [
            candidates[i][1]
            for i in sorted(chosen, key=lambda i: (candidates[i][1] not in named, -relevance[i]))
        ]
        return picked, negative_prompt(picked)

    @staticmethod
    def shortfall(words: str, count: int) -> str | None:
        """Why a concept has fewer than CHOSEN keywords (None when it has them all)."""
        if count >= CHOSEN:
            return None
        return (
            f"{count} keywords rather than {CHOSEN}: the other keywords offered were too far from "
            f"'{words}' (cosine below {MIN_RELEVANCE}), repeated one already chosen, or contradicted "
            "its mood."
        )

    def _named_in(self, text: str) -> list[tuple[str, str]]:
        """The lexicon keywords the concept text names, as whole phrases."""
        lowered = f" {text.lower()} "
        return [
            (c, w)
            for c, words in self.lexicon.keywords.items()
            for w in words
            if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", lowered)
        ]


_STOPWORDS = frozenset({"a", "an", "and", "the", "of", "in", "on", "with", "at", "to"})


def _contained(first: str, second: str) -> bool:
    """'glamour' in 'glamour photography', 'nostalgia' in 'bittersweet nostalgia': one repeats the other."""
    a, b = (set(text.replace("-", " ").split()) - _STOPWORDS for text in (first, second))
    return a <= b or b <= a


def negative_prompt(chosen: list[str]) -> str:
    """The base negatives, plus the look that would fight the chosen one (photo vs painting)."""
    photographic = any(any(mark in keyword for mark in _PHOTOGRAPHIC) for keyword in chosen)
    return BASE_NEGATIVE + (
        ", painting, illustration, cartoon" if photographic else ", photograph, 3d render"
    )


@cache
def default_offline_engine() -> OfflineEngine:
    return OfflineEngine()
