"""Unit-normalised MiniLM vectors of short texts, cached per process (passage sentences, claims).

Shared by the citation checker, the refusal check and the extractive answerer, so a passage
sentence encoded while building an answer is not encoded again while checking it. Before
encoding, `encode` looks each text up in the sentence tables of the indexes this process opened
(`attach`, called by `rag.index.load_index`; see rag/index/sentences.py): passage sentences were
encoded once at ingest, so a first question usually encodes only itself. A table is consulted
only when the caller's embedder makes the index's kind of vectors (`Embedder.space`).

Tables of other indexes are consulted too (evals switch corpora; a sentence is the same text
everywhere), but only the current index's damage is the caller's error: `load_index` marks the
index a thread works on (`use`), and a damaged table of another index is detached, so that one
broken index never fails questions to a healthy one (its own questions still say it is damaged).
"""

from __future__ import annotations

import contextvars
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from rag.embedder import table_space, unit_rows

if TYPE_CHECKING:
    import numpy as np

    from rag.embedder import Embedder

MAX_TABLES = 4  # indexes open at once in one process (evals switch corpora)
_CURRENT: contextvars.ContextVar[str | None] = contextvars.ContextVar("index", default=None)
# How the sentence vectors this thread may read were made (Settings.sentence_vectors, through
# `embedder.sentence_kind`): a table of the other kind is not read, so one question never mixes
# vectors pooled from a chunk pass with vectors of the sentence alone.
_KIND: contextvars.ContextVar[str] = contextvars.ContextVar("sentence_kind", default="exact")


class SentenceTable(Protocol):
    """What `rag.index.sentences.SentenceTable` offers here (rag.index imports this module,
    not the other way round)."""

    def lookup(self, texts: Sequence[str]) -> dict[str, Any]:
        """Vectors of the texts the table holds; IndexCorruptError when its files are bad."""
        ...


class _VectorCache:
    """Unit-normalised embeddings of short texts, cached per process (bounded, thread-safe)."""

    def __init__(self, size: int = 50_000) -> None:
        self._items: OrderedDict[tuple[tuple[int, str], str], Any] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()
        self._tables: OrderedDict[str, tuple[str, SentenceTable]] = OrderedDict()

    def clear(self, tables: bool = False) -> None:
        """Forget every cached vector (benchmarks time the cold path with this); with
        `tables`, detach the indexes' sentence tables too (the next `load_index` re-attaches
        its own)."""
        with self._lock:
            self._items.clear()
            if tables:
                self._tables.clear()

    def attach(self, index: str, space: str, table: SentenceTable | None) -> None:
        """Use `table` (the live generation of index `index`, vectors of kind `space`, a
        `table_space`) for lookups; it replaces that index's previous generation. None
        detaches the index."""
        with self._lock:
            self._tables.pop(index, None)
            if table is not None:
                self._tables[index] = (space, table)
            while len(self._tables) > MAX_TABLES:
                self._tables.popitem(last=False)

    def use(self, index: str, kind: str = "exact") -> None:
        """Mark `index` as the one this thread (context) answers from, reading sentence
        tables of `kind` ('exact' or 'late')."""
        _CURRENT.set(index)
        _KIND.set(kind)

    def encode(self, texts: Sequence[str], embedder: Any,
               embed: Callable[[list[str]], np.ndarray] | None = None) -> np.ndarray:
        """Unit vectors of `texts` (one row each): cached, else from an attached sentence
        table, else encoded by `embedder` in one call (by `embed`, when given: a function
        giving the embedder's vectors of a list of texts, with work of its own on the side)."""
        import numpy as np

        kind = _KIND.get()
        key = (id(embedder), kind)
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if (key, t) not in self._items))
        if missing:
            space = getattr(embedder, "space", None)
            found = self._from_tables(missing, table_space(space, kind) if space else None)
            recent = getattr(embedder, "recent_queries", {})  # the question, from retrieval
            found.update({t: recent[t] for t in missing if t not in found and t in recent})
            rest = [t for t in missing if t not in found]
            if rest:
                matrix = _embed(rest, embedder) if embed is None else embed(rest)
                found.update(zip(rest, matrix, strict=True))
            with self._lock:
                for text in missing:
                    self._items[(key, text)] = found[text]
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
        with self._lock:
            return np.stack([self._items[(key, t)] for t in texts]) if texts else np.zeros((0, 1))

    def _from_tables(self, texts: list[str], space: str | None) -> dict[str, Any]:
        """Vectors of `texts` found in attached tables of `space` (the embedder's vectors,
        made the way this thread asks for: `table_space`), the current index's table first;
        another index's damaged table (or any, when the caller answers from no index: the
        checker eval) is detached, not raised."""
        from rag.errors import IndexCorruptError

        current = _CURRENT.get()
        with self._lock:
            tables = sorted(((i, t) for i, (s, t) in self._tables.items()
                             if space is not None and s == space), key=lambda it: it[0] != current)
        found: dict[str, Any] = {}
        for index, table in tables:
            try:
                found.update(table.lookup([t for t in texts if t not in found]))
            except IndexCorruptError:
                if index == current:
                    raise
                with self._lock:
                    if self._tables.get(index, (None, None))[1] is table:
                        del self._tables[index]
                continue
            if len(found) == len(texts):
                break
        return found


def _embed(texts: list[str], embedder: Embedder) -> np.ndarray:
    """Unit vectors from the embedder's one method, `encode` (every runtime has it)."""
    return unit_rows(embedder.encode(texts))


VECTORS = _VectorCache()


def default_embedder() -> Any:
    """The bundled MiniLM (same cached instance `rag.embedder` gives the default settings)."""
    from rag.embedder import make_embedder
    from rag.settings import Settings

    return make_embedder(Settings.model_validate({}))
