"""The LLM engine: any OpenAI-compatible chat model (vLLM, Ollama, OpenAI) through langchain.

Each node asks for JSON and validates it with pydantic; `InvalidOutput` tells the graph to retry once
and then fall back to the offline engine (graph.py). The model's answer is never trusted blindly:
chosen keywords must come from the offered ones.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field, ValidationError, field_validator

from inference.mecene.lexicon import CATEGORIES
from inference.mecene.offline import BASE_NEGATIVE, CHOSEN

_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")


class InvalidOutput(ValueError):
    """The model answered something we cannot use (not JSON, wrong shape, made-up keywords)."""


class IdeaOut(BaseModel):
    idea: str = Field(min_length=40, max_length=800)


def _keyword_list():
    return Field(min_length=3, max_length=16)


class KeywordsOut(BaseModel):
    themes: list[str] = _keyword_list()
    colors: list[str] = _keyword_list()
    styles: list[str] = _keyword_list()
    mediums: list[str] = _keyword_list()
    subjects: list[str] = _keyword_list()
    emotions: list[str] = _keyword_list()
    time: list[str] = _keyword_list()
    places: list[str] = _keyword_list()

    @field_validator(*CATEGORIES)
    @classmethod
    def short_phrases(cls, words: list[str]) -> list[str]:
        cleaned = [" ".join(w.split()).lower() for w in words]
        if any(not w or len(w) > 40 or any(ch in w for ch in ",()[]{}<>:;") for w in cleaned):
            raise ValueError("keywords must be short phrases without punctuation")
        return cleaned


class ChoiceOut(BaseModel):
    keywords: list[str] = Field(min_length=CHOSEN)
    negative_prompt: str = Field(default=BASE_NEGATIVE, max_length=400)


SYSTEM = (
    "You are Mecene, an art director who writes Stable Diffusion XL prompts for artistic portraits of a "
    "real person. Answer with one JSON object and nothing else."
)


class LLMEngine:
    name = "llm"

    def __init__(self, model: BaseChatModel):
        self.model = model

    def _ask(self, schema: type[BaseModel], request: str) -> BaseModel:
        try:
            reply = self.model.invoke([SystemMessage(SYSTEM), HumanMessage(request)])
        except Exception as error:  # noqa: BLE001 - a server that is down is just another unusable answer
            raise InvalidOutput(f"the chat model failed: {type(error).__name__}: {error}") from error
        text = _FENCE.sub("", str(reply.content).strip())
        try:
            return schema.model_validate(json.loads(text))
        except (json.JSONDecodeError, ValidationError) as error:
            raise InvalidOutput(f"{schema.__name__}: {error}".splitlines()[0]) from error

    def idea(self, words: str, seed: int) -> str:
        answer = self._ask(
            IdeaOut,
            f'Words: "{words}". Write a portrait concept of about 50 words that turns these words into one '
            "image: the sitter's expression, wardrobe, setting, light, era and art style. "
            'JSON: {"idea": "..."}',
        )
        return answer.idea

    def meta_keywords(self, words: str, idea: str, seed: int) -> dict[str, list[str]]:
        answer = self._ask(
            KeywordsOut,
            f'Words: "{words}". Concept: "{idea}". List 8 short prompt keywords (1-3 words, lower case) for '
            f"each category: {', '.join(CATEGORIES)}. JSON with exactly those keys, each a list of strings.",
        )
        return answer.model_dump()

    def choose(
        self, words: str, idea: str, keywords: dict[str, list[str]], seed: int
    ) -> tuple[list[str], str]:
        offered = [w for c in CATEGORIES for w in keywords.get(c, [])]
        answer = self._ask(
            ChoiceOut,
            f'Words: "{words}". Concept: "{idea}". From these keywords: {json.dumps(offered)}, pick the '
            f"{CHOSEN} most relevant for the portrait, most important first, and write a negative prompt. "
            'JSON: {"keywords": [...], "negative_prompt": "..."}',
        )
        picked = [" ".join(w.split()).lower() for w in answer.keywords]
        picked = list(dict.fromkeys(w for w in picked if w in offered))[:CHOSEN]
        if len(picked) < CHOSEN:
            raise InvalidOutput(f"only {len(picked)} of the chosen keywords were among those offered")
        return picked, answer.negative_prompt


def chat_model_from_env(env: Mapping[str, str] | None = None) -> BaseChatModel | None:
    """ChatOpenAI on MECENE_LLM_URL (with MECENE_LLM_MODEL, MECENE_LLM_API_KEY), or None when unset."""
    env = os.environ if env is None else env
    url = env.get("MECENE_LLM_URL", "").strip()
    if not url:
        return None
    from langchain_openai import ChatOpenAI  # only when configured: it is a heavy import

    return ChatOpenAI(
        base_url=url,
        model=env.get("MECENE_LLM_MODEL", "").strip() or "gpt-4o-mini",
        api_key=env.get("MECENE_LLM_API_KEY", "").strip() or "not-needed",  # vLLM and Ollama take any key
        temperature=0.7,
        timeout=30,
        max_retries=1,
    )
