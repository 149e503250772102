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


def official_class_tokens(tokenizer, prompt: str, num_id_images: int, num_tokens: int = 2):
    """PhotoMaker V2's `encode_prompt_with_trigger_word` (TencentARC/PhotoMaker, photomaker/pipeline.py),
    transcribed step by step for one prompt: tokenize padded and truncated to model_max_length; walk the
    ids, dropping each trigger id and noting the clean index before it; repeat the class token
    num_id_images * num_tokens times in place; cut to model_max_length (or pad); mask the repeats."""
    tokenizer.add_tokens(["img"], special_tokens=True)
    image_token_id = tokenizer.convert_tokens_to_ids("img")
    max_len = tokenizer.model_max_length
    text_input_ids = tokenizer(prompt, padding="max_length", max_length=max_len, truncation=True).input_ids
    clean_index, clean_input_ids, class_token_index = 0, [], []
    for token_id in text_input_ids:
        if token_id == image_token_id:
            class_token_index.append(clean_index - 1)
        else:
            clean_input_ids.append(token_id)
            clean_index += 1
    if len(class_token_index) != 1:
        raise ValueError("PhotoMaker does not support multiple trigger words (or none)")
    class_token_index = class_token_index[0]
    class_token = clean_input_ids[class_token_index]
    repeats = num_id_images * num_tokens
    clean_input_ids = (
        clean_input_ids[:class_token_index]
        + [class_token] * repeats
        + clean_input_ids[class_token_index + 1 :]
    )
    if len(clean_input_ids) > max_len:
        clean_input_ids = clean_input_ids[:max_len]
    else:
        clean_input_ids = clean_input_ids + [tokenizer.pad_token_id] * (max_len - len(clean_input_ids))
    mask = [class_token_index <= i < class_token_index + repeats for i in range(len(clean_input_ids))]
    return clean_input_ids, mask


LONG_TAIL = ", ".join(["golden hour light", "soft rim lighting", "oil on canvas", "baroque drapery"] * 6)
PAINTED_AS_OFFICIAL = {
    "ordinary": "portrait of a woman img, oil painting, soft light",
    "overflowing": f"portrait of a woman img, {LONG_TAIL}",
    "two-token class word": "a businesswoman img in a glass office tower, golden hour",
    "trigger last before the cut": "red " * 73 + "man img, in a field of poppies",
}


@pytest.mark.parametrize("name", ["tokenizer", "tokenizer_2"])
@pytest.mark.parametrize("photos", [1, 2, 3, 4])
@pytest.mark.parametrize("case", list(PAINTED_AS_OFFICIAL))
def test_ids_and_mask_equal_photomaker_v2s_own_pipeline(name, photos, case):
    tokenizer, prompt = clip_tokenizer(name), PAINTED_AS_OFFICIAL[case]
    ids, mask = official_class_tokens(tokenizer, prompt, photos)
    if case == "trigger last before the cut" and photos > 1:
        # The class word sits at 74: its 2 x photos repeats cannot fit in 77, and the official pipeline
        # would silently drop identity tokens (its mask is short). We refuse and say how to fix it.
        assert sum(mask) < 2 * photos
        with pytest.raises(TriggerWordError, match="nearer the start"):
            expand_class_word(tokenizer, prompt, num_id_images=photos)
        return
    ours = expand_class_word(tokenizer, prompt, num_id_images=photos)
    assert ours.ids.tolist() == ids
    assert ours.mask.tolist() == mask


@pytest.mark.parametrize("name", ["tokenizer", "tokenizer_2"])
@pytest.mark.parametrize(
    "prompt, official_does, we_say",
    [
        ("img portrait of a woman, oil", "repeats the start token", "must follow a class word"),
        ("portrait of a woman img, imgur style", "finds two triggers", "cannot be part of another word"),
        (
            "a woman with img2 tattoos",
            "takes the img of img2 as the trigger",
            "cannot be part of another word",
        ),
        ("red " * 80 + "woman img", "finds no trigger", "after CLIP's 77-token limit"),
    ],
)
def test_prompts_the_official_pipeline_mishandles_are_refused_saying_how_to_write_them(
    name, prompt, official_does, we_say
):
    tokenizer = clip_tokenizer(name)
    if official_does == "repeats the start token":
        ids, mask = official_class_tokens(tokenizer, prompt, 1)
        assert mask[0] and ids[0] == tokenizer.bos_token_id
    elif official_does == "takes the img of img2 as the trigger":
        ids, mask = official_class_tokens(tokenizer, prompt, 1)
        assert ids[mask.index(True)] == tokenizer.convert_tokens_to_ids("with</w>")
    else:
        with pytest.raises(ValueError):
            official_class_tokens(tokenizer, prompt, 1)
    with pytest.raises(TriggerWordError, match=we_say):
        expand_class_word(tokenizer, prompt, num_id_images=1)
