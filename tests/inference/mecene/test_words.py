import pytest

from inference.mecene.words import WordsError, normalise_words


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("Corporate Confidence", "corporate confidence"),
        ("  ethereal \t  BEAUTY \n", "ethereal beauty"),
        ("sci-fi", "sci-fi"),
        ("rêve doré", "rêve doré"),
        ("one two three four", "one two three four"),
    ],
)
def test_words_are_normalised(raw, clean):
    assert normalise_words(raw) == clean


@pytest.mark.parametrize(
    "raw, code",
    [
        ("", "idea_required"),
        ("   ", "idea_required"),
        (None, "idea_required"),
        ("one two three four five", "idea_too_long"),
        ("a" * 61, "idea_too_long"),
        ("<b>bold</b>", "idea_invalid"),
        ("agent 007", "idea_invalid"),
        ("hello, world", "idea_invalid"),
    ],
)
def test_bad_words_get_a_clear_error(raw, code):
    with pytest.raises(WordsError) as caught:
        normalise_words(raw)
    assert caught.value.code == code and caught.value.message.startswith("Please")
