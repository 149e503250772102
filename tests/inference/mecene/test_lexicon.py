import json

import pytest

from inference.mecene.lexicon import CATEGORIES, Lexicon, LexiconError


def test_the_lexicon_has_over_400_keywords_across_the_8_categories():
    lexicon = Lexicon.load()
    assert tuple(lexicon.keywords) == CATEGORIES and len(lexicon) >= 400
    assert all(len(words) >= 40 for words in lexicon.keywords.values())
    assert lexicon.category_of(lexicon.keywords["colors"][0]) == "colors"


@pytest.mark.parametrize(
    "data, problem",
    [
        ({"themes": ["a"]}, "exactly the categories"),
        ({c: ["x"] for c in CATEGORIES}, "appears twice"),
        ({c: [f"{c} word", ""] for c in CATEGORIES}, "non-empty"),
    ],
)
def test_a_broken_lexicon_file_is_refused_with_the_reason(tmp_path, data, problem):
    path = tmp_path / "lexicon.json"
    path.write_text(json.dumps(data))
    with pytest.raises(LexiconError, match=problem):
        Lexicon.load(path)
