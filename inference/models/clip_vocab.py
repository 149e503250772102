"""Real CLIP BPE tokenizers, built offline from the vocabulary that ships inside the open-clip-torch wheel.

The wheel holds only the BPE merges (bpe_simple_vocab_16e6.txt.gz). CLIP's vocabulary is derived from
them: the 256 byte symbols, the same with the end-of-word mark "</w>", one token per merge (the first
48894), then <|startoftext|> and <|endoftext|>: 49408 tokens in all. The files are
written once, in the layout SDXL checkpoints use, under the cache folder and loaded from there.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import shutil
import tempfile
from functools import cache
from pathlib import Path

from transformers import CLIPTokenizer

from inference.models.paths import cache_dir

VOCAB_SIZE = 49408
MODEL_MAX_LENGTH = 77
BOS, EOS = "<|startoftext|>", "<|endoftext|>"
# SDXL's two tokenizers differ only in padding: the first pads with <|endoftext|>, the second with "!".
PAD_TOKENS = {"tokenizer": EOS, "tokenizer_2": "!"}


def _open_clip_merges_file() -> Path:
    # find_spec locates the package without importing it (importing open_clip needs torchvision).
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "open-clip-torch is not installed; run `make install` (it carries the CLIP vocabulary)."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "bpe_simple_vocab_16e6.txt.gz"
    if not path.exists():
        raise RuntimeError(f"The CLIP vocabulary is missing from open-clip-torch: {path}")
    return path


def _byte_symbols() -> list[str]:
    """The 256 printable stand-ins for raw bytes used by GPT-2/CLIP byte-level BPE, in vocabulary order."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    codes = list(printable)
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return [chr(code) for code in codes]


def clip_vocab_and_merges() -> tuple[dict[str, int], list[tuple[str, str]]]:
    lines = gzip.open(_open_clip_merges_file(), "rt", encoding="utf-8").read().split("\n")
    merge_count = VOCAB_SIZE - 2 * 256 - 2  # what is left after the byte symbols and the two markers
    merges = lines[1 : 1 + merge_count]
    symbols = _byte_symbols()
    tokens = symbols + [s + "</w>" for s in symbols] + ["".join(m.split()) for m in merges] + [BOS, EOS]
    assert len(tokens) == VOCAB_SIZE, len(tokens)
    return {token: index for index, token in enumerate(tokens)}, [tuple(m.split()) for m in merges]


def write_tokenizer_folder(folder: Path, name: str = "tokenizer") -> Path:
    """Write the tokenizer as SDXL checkpoints ship it: vocab.json, merges.txt, tokenizer_config.json."""
    vocab, merges = clip_vocab_and_merges()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    merges_text = "#version: 0.2\n" + "\n".join(" ".join(pair) for pair in merges) + "\n"
    (folder / "merges.txt").write_text(merges_text, encoding="utf-8")
    config = {
        "tokenizer_class": "CLIPTokenizer",
        "model_max_length": MODEL_MAX_LENGTH,
        "bos_token": BOS,
        "eos_token": EOS,
        "unk_token": EOS,
        "pad_token": PAD_TOKENS[name],
        "do_lower_case": True,
        "errors": "replace",
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return folder


def load_tokenizer(folder: Path) -> CLIPTokenizer:
    # transformers 5 ignores vocab_file=/merges_file= arguments; from a folder it reads the files itself.
    return CLIPTokenizer.from_pretrained(folder, local_files_only=True, model_max_length=MODEL_MAX_LENGTH)


@cache
def clip_tokenizer(name: str = "tokenizer") -> CLIPTokenizer:
    """SDXL's `tokenizer` or `tokenizer_2`, from the cache folder (written there on first use)."""
    folder = cache_dir() / "clip" / name
    if not (folder / "tokenizer_config.json").exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{name}-"))
        write_tokenizer_folder(staging, name)
        try:
            os.rename(staging, folder)  # atomic: a concurrent builder either wins or finds it done
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
    return load_tokenizer(folder)
