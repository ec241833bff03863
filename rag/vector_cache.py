"""Unit-normalised MiniLM vectors of short texts, cached per process (passage sentences, claims).

Shared by the citation checker and the extractive answerer, so a passage sentence encoded while
building an answer is not encoded again while checking it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from rag.embedder import Embedder


class _VectorCache:
    """Unit-normalised embeddings of short texts, cached per process (bounded, thread-safe)."""

    def __init__(self, size: int = 50_000) -> None:
        self._items: OrderedDict[tuple[int, str], Any] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forget every cached vector (benchmarks time the cold path with this)."""
        with self._lock:
            self._items.clear()

    def encode(self, texts: Sequence[str], embedder: Any) -> np.ndarray:
        import numpy as np

        key = id(embedder)
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if (key, t) not in self._items))
        if missing:
            vectors = _embed(missing, embedder)
            with self._lock:
                for text, vector in zip(missing, vectors, strict=True):
                    self._items[(key, text)] = vector
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
        with self._lock:
            return np.stack([self._items[(key, t)] for t in texts]) if texts else np.zeros((0, 1))


def _embed(texts: list[str], embedder: Embedder) -> np.ndarray:
    """Unit vectors from the embedder's one method, `encode` (every runtime has it)."""
    import numpy as np

    matrix = embedder.encode(texts)
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-9)


VECTORS = _VectorCache()


def default_embedder() -> Any:
    """The bundled MiniLM (same cached instance `rag.embedder` gives the default settings)."""
    from rag.embedder import make_embedder
    from rag.settings import Settings

    return make_embedder(Settings.model_validate({}))
