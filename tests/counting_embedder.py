"""A real embedder that records what it encodes: the ONNX MiniLM behind a counting wrapper.

Tests register it in place of the `onnx` row of `rag.embedder.RUNTIMES` (the embedder
registry), so every caller that asks the registry for the model gets this wrapper.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.embedder import Embedder

ENCODED: list[str] = []  # every text encoded since the last clear, in call order


class CountingEmbedder(Embedder):
    """Delegates to the real ONNX embedder and appends each text to ENCODED."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.embed_batch_size = inner.embed_batch_size

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        ENCODED.extend(texts)
        if batch_size is None:
            return self.inner.encode(texts)
        return self.inner.encode(texts, batch_size=batch_size)  # type: ignore[call-arg]

    def token_states(self, texts: Sequence[str]) -> Any:
        """The inner model's chunk pass for late chunking (not recorded: chunks, not
        sentences, go in)."""
        return self.inner.token_states(texts)  # type: ignore[attr-defined]


def load(name: str, cache_dir: Path, int8: bool, batch_size: int) -> Embedder:
    """The registry's factory signature (see rag.embedder.RUNTIMES)."""
    from rag.embedder_onnx import load as load_onnx

    return CountingEmbedder(load_onnx(name, cache_dir, int8, batch_size))
