"""A deterministic embedder with no model, for the fast test tier (PLAYBOOK_EMBED_RUNTIME=hashed).

Feature hashing of lower-cased words and word bigrams into 384 signed dimensions, L2-normalised:
texts that share words get a positive cosine, unrelated texts about zero. It is not a semantic
model (paraphrases do not match), so it serves tests of plumbing (ingest, stores, fusion,
merging, the CLI and servers), never quality figures. Microseconds per text, no imports beyond
numpy.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.embedder import Embedder

DIM = 384
_WORD = re.compile(r"[^\W_]+")


def load(name: str, cache_dir: Path, int8: bool, batch_size: int) -> Embedder:
    """The hashed embedder (the model settings do not apply)."""
    return HashedEmbedder(batch_size)


@lru_cache(maxsize=65536)
def _slot(feature: str) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % DIM, 1.0 if value >> 63 else -1.0


class HashedEmbedder(Embedder):
    """Bag of words and bigrams, hashed (see the module docstring)."""

    def __init__(self, batch_size: int = 64) -> None:
        self.embed_batch_size = batch_size

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            words = _WORD.findall(text.lower())
            bigrams = (f"{a} {b}" for a, b in zip(words, words[1:], strict=False))
            for feature in [*words, *bigrams]:
                slot, sign = _slot(feature)
                out[row, slot] += sign
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out /= np.where(norms == 0, 1.0, norms)
        return out
