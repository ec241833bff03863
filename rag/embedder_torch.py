"""The embedding model on torch, through LlamaIndex's HuggingFaceEmbedding (sentence-transformers).

Slower to start than the ONNX runtime (~6 s of imports) and the reference it is checked against.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.embedder import Embedder, model_path
from rag.errors import missing_package


def load(name: str, cache_dir: Path, int8: bool, batch_size: int) -> Embedder:
    """The model on torch (`cache_dir` and `int8` are ONNX-only and ignored)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no "Loading weights" bar
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    except ImportError as exc:
        raise missing_package("llama-index-embeddings-huggingface", "all", "Embedding") from exc
    model = HuggingFaceEmbedding(
        model_name=str(model_path(name)), embed_batch_size=batch_size, normalize=True,
        device="cpu",
    )
    return TorchEmbedder(model, batch_size)


class TorchEmbedder(Embedder):
    """A LlamaIndex embedding model behind the project's interface (its public batch API)."""

    def __init__(self, model: Any, batch_size: int) -> None:
        self.model = model
        self.embed_batch_size = batch_size

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        rows = self.model.get_text_embedding_batch(list(texts))
        return np.asarray(rows, dtype=np.float32)

    def get_query_embedding(self, query: str) -> list[float]:
        return [float(x) for x in self.model.get_query_embedding(query)]
