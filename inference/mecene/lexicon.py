"""Our curated keyword lexicon (lexicon.json): 8 categories of short, prompt-ready phrases, and the
oppositions between some of them: on each axis (mood: bright or dark; temperature: warm or cool) a
keyword tagged with one side contradicts one tagged with the other, so a portrait never gets both."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

CATEGORIES = ("themes", "colors", "styles", "mediums", "subjects", "emotions", "time", "places")
LEXICON_FILE = Path(__file__).with_name("lexicon.json")


class LexiconError(ValueError):
    pass


@dataclass(frozen=True)
class Lexicon:
    keywords: dict[str, tuple[str, ...]]
    sides: dict[str, dict[str, str]] = field(default_factory=dict)  # keyword -> {axis: side}

    @classmethod
    def load(cls, path: Path = LEXICON_FILE) -> Lexicon:
        data = json.loads(path.read_text(encoding="utf-8"))
        oppositions = data.pop("oppositions", {})
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
        return cls(keywords, _sides(oppositions, set(every), path.name))

    def opposed(self, first: str, second: str) -> bool:
        """Whether the two keywords sit on opposite sides of some axis (bright vs dark, warm vs cool)."""
        a, b = self.sides.get(first, {}), self.sides.get(second, {})
        return any(axis in b and b[axis] != side for axis, side in a.items())

    def __len__(self) -> int:
        return sum(len(words) for words in self.keywords.values())

    def category_of(self, keyword: str) -> str | None:
        return next((c for c, words in self.keywords.items() if keyword in words), None)


def _sides(oppositions: dict, known: set[str], name: str) -> dict[str, dict[str, str]]:
    """{keyword: {axis: side}} from {"axis": {"side": [keywords]}}: two sides per axis, known keywords."""
    sides: dict[str, dict[str, str]] = {}
    for axis, groups in oppositions.items():
        if not isinstance(groups, dict) or len(groups) != 2:
            raise LexiconError(f"{name}: opposition '{axis}' needs exactly two sides")
        for side, words in groups.items():
            for word in words:
                if word not in known:
                    raise LexiconError(f"{name}: '{word}' ({axis}: {side}) is not a keyword of the lexicon")
                if axis in sides.get(word, {}):
                    raise LexiconError(f"{name}: '{word}' is on both sides of '{axis}'")
                sides.setdefault(word, {})[axis] = side
    return sides
