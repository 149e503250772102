"""The LLM path with langchain_core's fake chat model: valid answers are used, invalid ones retried once
and then replaced by the offline engine, with the fallback recorded."""

import json

import pytest
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage

from inference.mecene.agent import Mecene
from inference.mecene.lexicon import CATEGORIES
from inference.mecene.llm import LLMEngine, chat_model_from_env

IDEA = (
    "A confident executive in a tailored charcoal suit stands before floor-to-ceiling windows of a "
    "glass tower at golden hour, chin raised, calm gaze, cinematic editorial photography with warm rim "
    "light and deep navy tones, the city skyline softly blurred behind."
)
KEYWORDS = {c: [f"{c} {w}" for w in ("alpha", "beta", "gamma", "delta")] for c in CATEGORIES}
CHOSEN = [w for c in CATEGORIES for w in KEYWORDS[c][:2]][:15]


def fake(*answers: str) -> LLMEngine:
    return LLMEngine(FakeMessagesListChatModel(responses=[AIMessage(content=a) for a in answers]))


def valid_answers() -> list[str]:
    return [
        json.dumps({"idea": IDEA}),
        "```json\n" + json.dumps(KEYWORDS) + "\n```",  # fenced JSON, as chat models often answer
        json.dumps({"keywords": [w.upper() for w in CHOSEN], "negative_prompt": "blurry, cartoon"}),
    ]


@pytest.fixture(scope="module")
def offline(offline_engine):
    return offline_engine


def test_the_llm_path_produces_the_expected_prompt(offline):
    concept = Mecene(llm=fake(*valid_answers()), offline=offline).run("Corporate Confidence", seed=1)
    assert concept.engine == "llm" and concept.fallbacks == []
    assert concept.idea == IDEA and concept.keywords == KEYWORDS and concept.chosen == CHOSEN
    assert concept.prompt == "portrait of a person img, corporate confidence, " + ", ".join(CHOSEN)
    assert concept.negative_prompt == "blurry, cartoon"


def test_one_bad_answer_is_retried(offline):
    answers = valid_answers()
    concept = Mecene(llm=fake("Sure! Here is a concept:", *answers), offline=offline).run("calm", seed=1)
    assert concept.engine == "llm" and concept.idea == IDEA and concept.fallbacks == []


def test_invalid_output_twice_falls_back_to_the_offline_engine_and_says_so(offline):
    answers = valid_answers()
    made_up = json.dumps({"keywords": [f"invented {i}" for i in range(15)]})
    llm = fake(answers[0], answers[1], made_up, made_up)
    concept = Mecene(llm=llm, offline=offline).run("corporate confidence", seed=1)
    assert concept.engine == "llm+offline" and concept.idea == IDEA
    assert len(concept.fallbacks) == 1 and concept.fallbacks[0].startswith("choose_keywords:")
    # The offline engine chooses among the LLM's offer, which here is nonsense ("themes alpha"): none of it
    # is relevant to the words, so it chooses fewer than 15 (none) and says why, rather than filler.
    assert set(concept.chosen) <= {w for ws in KEYWORDS.values() for w in ws}
    assert (
        len(concept.chosen) < 15
        and concept.notes
        and "too far from 'corporate confidence'" in concept.notes[0]
    )


def test_a_dead_server_falls_back_for_every_node(offline):
    class Down(FakeMessagesListChatModel):
        def _generate(self, *args, **kwargs):
            raise ConnectionError("connection refused")

    concept = Mecene(llm=LLMEngine(Down(responses=[])), offline=offline).run("ocean dreamer", seed=2)
    offline_only = Mecene(offline=offline).run("ocean dreamer", seed=2)
    assert concept.engine == "offline" and len(concept.fallbacks) == 3
    assert "connection refused" in concept.fallbacks[0] and concept.prompt == offline_only.prompt


def test_the_chat_model_comes_from_the_environment():
    assert chat_model_from_env({}) is None
    model = chat_model_from_env(
        {
            "MECENE_LLM_URL": "http://127.0.0.1:11434/v1",
            "MECENE_LLM_MODEL": "llama3.1",
            "MECENE_LLM_API_KEY": "k",
        }
    )
    assert model.model_name == "llama3.1" and str(model.openai_api_base) == "http://127.0.0.1:11434/v1"
    assert "sk-secret-123" not in repr(model)  # the key stays a secret string
