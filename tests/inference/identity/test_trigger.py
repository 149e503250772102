import pytest

from inference.identity.trigger import TriggerWordError, expand_class_word, text_only
from inference.models.clip_vocab import clip_tokenizer

PROMPT = "portrait of a woman img, oil painting, soft light"


@pytest.mark.parametrize("name", ["tokenizer", "tokenizer_2"])
@pytest.mark.parametrize("photos", [1, 3])
def test_the_class_word_is_repeated_twice_per_photo_and_masked(name, photos):
    tokenizer = clip_tokenizer(name)
    expanded = expand_class_word(tokenizer, PROMPT, num_id_images=photos)
    woman = tokenizer.convert_tokens_to_ids("woman</w>")
    ids = expanded.ids.tolist()
    positions = expanded.mask.nonzero().flatten().tolist()
    assert positions == list(range(4, 4 + 2 * photos))  # <start> portrait of a [woman x 2N] , oil ...
    assert [ids[p] for p in positions] == [woman] * (2 * photos)
    assert ids[4 + 2 * photos] == tokenizer.convert_tokens_to_ids(",</w>")
    assert tokenizer.convert_tokens_to_ids("img") not in ids and len(ids) == 77


def test_the_text_only_path_is_the_same_prompt_without_the_trigger():
    assert text_only(PROMPT) == "portrait of a woman, oil painting, soft light"


@pytest.mark.parametrize(
    "prompt", ["portrait of a woman, oil painting", "a man img and a woman img", "img, a man"]
)
def test_the_trigger_must_follow_a_class_word_exactly_once(prompt):
    with pytest.raises(TriggerWordError):
        expand_class_word(clip_tokenizer("tokenizer"), prompt, num_id_images=1)
