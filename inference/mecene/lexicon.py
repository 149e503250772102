"""Our curated keyword lexicon (lexicon.json): 8 categories of short, prompt-ready phrases."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

CATEGORIES = ("themes", "colors", "styles", "mediums", "subjects", "emotions", "time", "places")
LEXICON_FILE = Path(__file__).with_name("lexicon.json")


class LexiconError(ValueError):
    pass


@dataclass(frozen=True)
class Lexicon:
    keywords: dict[str, tuple[str, ...]]

    @classmethod
    def load(cls, path: Path = LEXICON_FILE) -> Lexicon:
        data = json.loads(path.read_text(encoding="utf-8"))
        if set(data) != set(CATEGORIES):
            raise LexiconError(f"{path.name} must have exactly the categories {', '.join(CATEGORIES)}")
        keywords = {}
        for category in CATEGORIES:
            words = tuple(data[category])
            if not words or not all(isinstance(w, str) and w.strip() == w and w for w in words):
                raise LexiconError(f"{path.name}: '{category}' needs non-empty, trimmed strings")
            keywords[category] = words
        every = [w for words in keywords.values() for w in words]
        if len(every) != len(set(every)):
            raise LexiconError(f"{path.name}: a keyword appears twice")
        return cls(keywords)

    def __len__(self) -> int:
        return sum(len(words) for words in self.keywords.values())

    def category_of(self, keyword: str) -> str | None:
        return next((c for c, words in self.keywords.items() if keyword in words), None)
