"""The graph on the offline engine: no network, seeded, relevant."""

import numpy as np
import pytest

from inference.mecene.agent import Mecene
from inference.mecene.graph import NODES
from inference.mecene.lexicon import CATEGORIES
from inference.mecene.offline import CHOSEN, PER_CATEGORY
from inference.mecene.words import WordsError

TWENTY_INPUTS = [
    "corporate confidence",
    "ethereal beauty",
    "cyberpunk rebel",
    "autumn melancholy",
    "royal elegance",
    "ocean dreamer",
    "winter solitude",
    "desert wanderer",
    "jazz age",
    "cosmic explorer",
    "gothic romance",
    "street style",
    "forest spirit",
    "heroic warrior",
    "pop art",
    "quiet scholar",
    "summer joy",
    "rock star",
    "zen calm",
    "vintage glamour",
]


@pytest.fixture(scope="module")
def mecene(offline_engine):
    return Mecene(offline=offline_engine)


def test_the_graph_streams_its_three_nodes_in_order(mecene):
    updates = list(mecene.stream("Corporate  Confidence", seed=3))
    assert [node for node, _ in updates] == list(NODES)
    assert all(update["engines"] == ["offline"] for _, update in updates)


def test_a_concept_from_two_words(mecene):
    concept = mecene.run("corporate confidence", seed=3)
    assert concept.engine == "offline" and not concept.fallbacks
    assert 35 <= len(concept.idea.split()) <= 70 and "corporate confidence" in concept.idea
    assert list(concept.keywords) == list(CATEGORIES)
    assert all(len(v) == PER_CATEGORY for v in concept.keywords.values())
    offered = {w for words in concept.keywords.values() for w in words}
    assert 10 <= len(concept.chosen) <= CHOSEN and len(set(concept.chosen)) == len(concept.chosen)
    assert set(concept.chosen) <= offered
    if len(concept.chosen) < CHOSEN:  # fewer than 15 rather than filler, and the concept says why
        assert concept.notes and concept.notes[0].startswith(f"{len(concept.chosen)} keywords rather than 15")
    assert concept.prompt == ", ".join(["portrait of a person img", "corporate confidence", *concept.chosen])
    assert "blurry" in concept.negative_prompt


def test_the_same_seed_gives_the_same_prompt_and_other_seeds_vary(mecene):
    first = mecene.run("ethereal beauty", seed=7)
    assert mecene.run("ethereal beauty", seed=7) == first
    others = {mecene.run("ethereal beauty", seed=s).prompt for s in range(8)}
    ideas = {mecene.run("ethereal beauty", seed=s).idea for s in range(8)}
    assert len(others) >= 4 and len(ideas) >= 4


def test_bad_words_are_refused_before_any_work(mecene):
    with pytest.raises(WordsError) as caught:
        mecene.run("one two three four five")
    assert caught.value.code == "idea_too_long"


def test_chosen_keywords_are_far_more_relevant_than_random_ones(mecene, offline_engine):
    """For 20 inputs: mean cosine similarity to the input, chosen keywords vs 15 random lexicon keywords."""
    every = [w for words in offline_engine.lexicon.keywords.values() for w in words]
    rng = np.random.default_rng(0)
    chosen_means, random_means = [], []
    for words in TWENTY_INPUTS:
        concept = mecene.run(words, seed=1)
        chosen_means.append(offline_engine.similarity(words, concept.chosen).mean())
        sample = list(rng.choice(every, size=CHOSEN, replace=False))
        random_means.append(offline_engine.similarity(words, sample).mean())
    chosen_means, random_means = np.array(chosen_means), np.array(random_means)
    assert (chosen_means > random_means).all()
    assert chosen_means.mean() - random_means.mean() >= 0.15, (chosen_means.mean(), random_means.mean())
