"""Mecene as callers use it: `Mecene.from_env().run("corporate confidence", seed=3)` -> a Concept.

`stream()` yields each node's update as it finishes, for callers that show progress.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field

from inference.mecene.graph import build_graph
from inference.mecene.llm import LLMEngine, chat_model_from_env
from inference.mecene.offline import OfflineEngine, default_offline_engine
from inference.mecene.words import normalise_words


@dataclass
class Concept:
    words: str
    seed: int
    idea: str
    keywords: dict[str, list[str]]
    chosen: list[str]
    prompt: str
    negative_prompt: str
    engine: str  # "offline", "llm", or "llm+offline" when some node fell back
    fallbacks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. why fewer than 15 keywords were chosen

    def as_dict(self) -> dict:
        return asdict(self)


class Mecene:
    def __init__(self, *, llm: LLMEngine | None = None, offline: OfflineEngine | None = None):
        self.offline = offline or default_offline_engine()
        self.primary = llm or self.offline
        self.graph = build_graph(self.primary, self.offline)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Mecene:
        """The LLM engine when MECENE_LLM_URL is set, else offline."""
        model = chat_model_from_env(env)
        return cls(llm=LLMEngine(model) if model is not None else None)

    def stream(self, words: str, *, seed: int = 0) -> Iterator[tuple[str, dict]]:
        """(node name, that node's update) as each node finishes. Raises WordsError on bad input."""
        state = {
            "words": normalise_words(words),
            "seed": int(seed),
            "engines": [],
            "fallbacks": [],
            "notes": [],
        }
        for update in self.graph.stream(state, stream_mode="updates"):
            yield from update.items()

    def run(self, words: str, *, seed: int = 0, on_node: Callable[[int, str], None] | None = None) -> Concept:
        """The whole concept; `on_node(done, name)` after each node (1..3), for a progress bar."""
        state: dict = {
            "words": normalise_words(words),
            "seed": int(seed),
            "engines": [],
            "fallbacks": [],
            "notes": [],
        }
        for done, (node, update) in enumerate(self.stream(words, seed=seed), start=1):
            if on_node is not None:
                on_node(done, node)
            for key, value in update.items():
                state[key] = state[key] + value if key in ("engines", "fallbacks", "notes") else value
        engines = set(state["engines"])
        engine = "llm+offline" if len(engines) > 1 else next(iter(engines))
        fields = ("words", "seed", "idea", "keywords", "chosen", "prompt", "negative_prompt")
        return Concept(
            **{k: state[k] for k in fields}, engine=engine, fallbacks=state["fallbacks"], notes=state["notes"]
        )
