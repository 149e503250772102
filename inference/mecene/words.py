"""The visitor's words, checked and normalised: 1-4 words of letters, joined by single spaces or hyphens.

Shared by the API (apps.generation.uploads) and the agent, so a phrase the site accepts is always one
the agent can work with.
"""

from __future__ import annotations

import re
import unicodedata

MAX_CHARS, MAX_WORDS = 60, 4
_LETTERS = re.compile(r"^[^\W\d_]+(?:[ -][^\W\d_]+)*$")  # letters, single spaces or hyphens between


class WordsError(ValueError):
    """Input the agent cannot take; `code` is stable for API clients, the message is for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def normalise_words(raw: str | None) -> str:
    """'  Corporate   CONFIDENCE ' -> 'corporate confidence'; WordsError when it is not 1-4 words."""
    words = " ".join(unicodedata.normalize("NFC", raw or "").split()).lower()
    if not words:
        raise WordsError("idea_required", "Please type a short idea, such as 'corporate confidence'.")
    if len(words) > MAX_CHARS:
        raise WordsError("idea_too_long", f"Please keep the idea under {MAX_CHARS} characters.")
    if len(words.split()) > MAX_WORDS:
        raise WordsError("idea_too_long", f"Please use at most {MAX_WORDS} words.")
    if not _LETTERS.match(words):
        raise WordsError("idea_invalid", "Please use only letters, spaces and hyphens.")
    return words
