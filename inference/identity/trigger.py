"""The trigger word: "portrait of a woman img, ..." marks where the identity goes.

The class word before the trigger ("man", "woman", "person") is repeated once per identity token
(2 per ID photo); the trigger itself is removed. A mask marks the repeated positions, where the ID
encoder writes the fused identity. Without the trigger the prompt is the text-only path.

The token ids equal PhotoMaker V2's own pipeline (`encode_prompt_with_trigger_word`) in the same order
of operations: tokenize, truncate and pad to 77; take the trigger out; repeat the class word; cut to
77 (a long prompt loses its tail, end-of-text included). Where the official pipeline would paint
something unintended, we refuse with a message saying how to write the prompt instead (see
docs/photomaker-v2-format.md): the trigger first (it would repeat the start token), the trigger inside
a word ("imgur": the tokenizer splits `img` out of it), the trigger beyond the 77 tokens, and a class
word so late that its repeats do not fit (the official drops identity tokens).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch

TRIGGER = "img"
_TRIGGER_WORD = re.compile(rf"\s*\b{TRIGGER}\b")
_INSIDE_A_WORD = re.compile(rf"\w*(?:\w{TRIGGER}|{TRIGGER}\w)\w*", re.IGNORECASE)


class TriggerWordError(ValueError):
    code = "bad_trigger_word"

    @property
    def message(self) -> str:
        return str(self)


def add_trigger_token(tokenizer) -> int:
    """Register the trigger as one special token (idempotent); returns its id."""
    if TRIGGER not in tokenizer.get_vocab():
        tokenizer.add_tokens([TRIGGER], special_tokens=True)
    return tokenizer.convert_tokens_to_ids(TRIGGER)


def text_only(prompt: str) -> str:
    """The same prompt without the trigger word: the path before start_merge_step."""
    return _TRIGGER_WORD.sub("", prompt, count=1).strip()


def check_trigger(prompt: str) -> None:
    inside = _INSIDE_A_WORD.findall(prompt)
    if inside:
        raise TriggerWordError(
            f"'{TRIGGER}' is the trigger word and cannot be part of another word ({inside[0]!r}): "
            f"rephrase it, and write the trigger alone after a class word ('a woman {TRIGGER}, ...')."
        )
    count = len(_TRIGGER_WORD.findall(prompt))
    if count != 1:
        raise TriggerWordError(
            f"The prompt must contain the trigger word '{TRIGGER}' exactly once, after a class word "
            f"(e.g. 'portrait of a woman {TRIGGER}, ...'); it contains it {count} times."
        )


@dataclass(frozen=True)
class ClassTokens:
    ids: torch.Tensor  # [77] token ids with the class word repeated
    mask: torch.Tensor  # [77] bool: True at the repeated class-word positions


def expand_class_word(
    tokenizer, prompt: str, *, num_id_images: int, tokens_per_image: int = 2
) -> ClassTokens:
    check_trigger(prompt)
    trigger_id = add_trigger_token(tokenizer)
    limit = tokenizer.model_max_length
    # As the official pipeline: the prompt as the text encoder would take it alone, 77 ids.
    ids = tokenizer(prompt, padding="max_length", max_length=limit, truncation=True).input_ids
    if trigger_id not in ids:
        raise TriggerWordError(
            f"The trigger word '{TRIGGER}' comes after CLIP's {limit}-token limit: move the class word "
            f"and trigger ('a woman {TRIGGER}') nearer the start of the prompt."
        )
    at = ids.index(trigger_id)
    class_at = at - 1
    if class_at < 1:
        raise TriggerWordError(
            f"The trigger word '{TRIGGER}' must follow a class word such as man, woman or person "
            f"('portrait of a woman {TRIGGER}, ...'), not open the prompt."
        )
    repeats = num_id_images * tokens_per_image
    if class_at + repeats > limit:
        raise TriggerWordError(
            f"With {num_id_images} photo(s) the class word before '{TRIGGER}' must come within the first "
            f"{limit - repeats} tokens: move 'a woman {TRIGGER}' nearer the start of the prompt."
        )
    clean = ids[:at] + ids[at + 1 :]
    expanded = clean[:class_at] + [clean[class_at]] * repeats + clean[class_at + 1 :]
    expanded = expanded[:limit] + [tokenizer.pad_token_id] * (limit - len(expanded))
    mask = torch.zeros(limit, dtype=torch.bool)
    mask[class_at : class_at + repeats] = True
    return ClassTokens(torch.tensor(expanded), mask)
