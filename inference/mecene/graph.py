"""The LangGraph graph: generate_idea -> generate_meta_keywords -> choose_keywords.

Each node asks its engine; when the engine is the LLM and its answer is unusable twice in a row, the
node asks the offline engine instead and records the fallback in the state (`fallbacks`).
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Callable
from typing import Annotated, TypedDict

from langgraph.graph import END, START, StateGraph

from inference.mecene.llm import InvalidOutput
from inference.mecene.prompt import compose_prompt

logger = logging.getLogger("narcis.mecene")

NODES = ("generate_idea", "generate_meta_keywords", "choose_keywords")


class MeceneState(TypedDict, total=False):
    words: str  # the visitor's normalised 1-4 words
    seed: int
    idea: str  # the ~50-word portrait concept
    keywords: dict[str, list[str]]  # per category
    chosen: list[str]
    prompt: str
    negative_prompt: str
    engines: Annotated[list[str], operator.add]  # which engine answered each node
    fallbacks: Annotated[list[str], operator.add]  # "node: why", for each node the LLM could not answer
    notes: Annotated[list[str], operator.add]  # what a reader of the concept should know (fewer keywords)


def _answer(node: str, primary, offline, ask: Callable) -> tuple[object, dict]:
    """ask(engine) from the primary engine, retrying once on invalid output, then from the offline one."""
    if primary is offline:
        return ask(offline), {"engines": [offline.name]}
    problems = []
    for _ in range(2):
        try:
            return ask(primary), {"engines": [primary.name]}
        except InvalidOutput as error:
            problems.append(str(error))
    logger.warning("mecene fell back to the offline engine", extra={"node": node, "reason": problems[-1]})
    return ask(offline), {"engines": [offline.name], "fallbacks": [f"{node}: {problems[-1]}"]}


def build_graph(primary, offline):
    def generate_idea(state: MeceneState) -> dict:
        idea, notes = _answer(
            "generate_idea", primary, offline, lambda e: e.idea(state["words"], state["seed"])
        )
        return {"idea": idea, **notes}

    def generate_meta_keywords(state: MeceneState) -> dict:
        keywords, notes = _answer(
            "generate_meta_keywords",
            primary,
            offline,
            lambda e: e.meta_keywords(state["words"], state["idea"], state["seed"]),
        )
        return {"keywords": keywords, **notes}

    def choose_keywords(state: MeceneState) -> dict:
        (chosen, negative), notes = _answer(
            "choose_keywords",
            primary,
            offline,
            lambda e: e.choose(state["words"], state["idea"], state["keywords"], state["seed"]),
        )
        shortfall = offline.shortfall(state["words"], len(chosen))
        return {
            "chosen": chosen,
            "prompt": compose_prompt(state["words"], chosen),
            "negative_prompt": negative,
            "notes": [shortfall] if shortfall else [],
            **notes,
        }

    graph = StateGraph(MeceneState)
    graph.add_node("generate_idea", generate_idea)
    graph.add_node("generate_meta_keywords", generate_meta_keywords)
    graph.add_node("choose_keywords", choose_keywords)
    graph.add_edge(START, "generate_idea")
    graph.add_edge("generate_idea", "generate_meta_keywords")
    graph.add_edge("generate_meta_keywords", "choose_keywords")
    graph.add_edge("choose_keywords", END)
    return graph.compile()
