"""The trigger word: "portrait of a woman img, ..." marks where the identity goes.

The class word before the trigger ("man", "woman", "person") is repeated once per identity token
(2 per ID photo); the trigger itself is removed. A mask marks the repeated positions, where the ID
encoder writes the fused identity. Without the trigger the prompt is the text-only path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch

TRIGGER = "img"
_TRIGGER_WORD = re.compile(rf"\s*\b{TRIGGER}\b")


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
    ids = tokenizer(prompt).input_ids  # <start> ... <end>, unpadded
    at = ids.index(trigger_id)
    if at < 2:
        raise TriggerWordError(
            f"The trigger word '{TRIGGER}' must follow a class word such as man, woman or person."
        )
    repeats = num_id_images * tokens_per_image
    class_at = at - 1
    ids = ids[:class_at] + [ids[class_at]] * repeats + ids[at + 1 :]
    limit = tokenizer.model_max_length
    if len(ids) > limit:
        if class_at + repeats >= limit - 1:
            raise TriggerWordError(
                "The class word and trigger must come earlier in the prompt (within 77 tokens)."
            )
        ids = ids[: limit - 1] + ids[-1:]
    ids = ids + [tokenizer.pad_token_id] * (limit - len(ids))
    mask = torch.zeros(limit, dtype=torch.bool)
    mask[class_at : class_at + repeats] = True
    return ClassTokens(torch.tensor(ids), mask)
