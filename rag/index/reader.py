"""Reading the live index generation: chunks, BM25 and dense search (the store picks how).

`load_index(settings)` re-reads the pointer on every call (the CURRENT file, or one small record on
a Chroma server) and returns a cached reader for that generation, so a long-running server (or
several replicas on one Chroma server) picks up a new ingest on its next question while questions
already in flight finish on the generation they started with.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from rag.chunk import Chunk
from rag.index.backend import DenseSearch, Store, open_store
from rag.index.bm25 import BM25
from rag.index.manifest import Manifest
from rag.index.sentences import SentenceTable
from rag.settings import Settings


class IndexReader:
    """One immutable generation, loaded for querying."""

    def __init__(self, store: Store, generation: str, exact: bool = True) -> None:
        self.store = store
        self.generation = generation
        self.manifest: Manifest = store.manifest(generation)
        store.verify(generation, self.manifest)  # damage: one sentence, never a wrong answer
        self.chunks: dict[str, Chunk] = {c.id: c for c in store.chunks(generation)}
        self.exact = exact
        self.by_article: dict[str, list[Chunk]] = {}
        for chunk in self.chunks.values():
            self.by_article.setdefault(chunk.article_id, []).append(chunk)
        for chunks in self.by_article.values():
            chunks.sort(key=lambda c: c.position)
        self._bm25: BM25 | None = None
        self._search: DenseSearch | None = None
        self._lock = threading.Lock()
        opener = getattr(store, "sentences", None)  # stores that keep sentence vectors
        self.sentences: SentenceTable | None = opener(generation) if opener else None

    @property
    def bm25(self) -> BM25:
        with self._lock:
            if self._bm25 is None:
                self._bm25 = self.store.bm25(self.generation, list(self.chunks.values()))
            return self._bm25

    @property
    def search(self) -> DenseSearch:
        """Exact search on the generation's vector matrix (embedded store), else (server mode,
        older indexes, PLAYBOOK_DENSE_SEARCH=chroma) Chroma's HNSW index: the store decides."""
        with self._lock:
            if self._search is None:
                self._search = self.store.search(self.generation, list(self.chunks), self.exact)
            return self._search

    def close(self) -> None:
        """Release what this reader opened in the store (an embedded Chroma client)."""
        with self._lock:
            if self._search is not None:
                self._search = None
                self.store.release(self.generation)

    def dense(self, vector: Sequence[float], k: int) -> list[tuple[str, float]]:
        """The k nearest chunks by cosine similarity, as (chunk id, similarity)."""
        k = min(k, len(self.chunks))
        return self.search.top(vector, k) if k else []

    def similarities(self, vector: Sequence[float], ids: list[str]) -> dict[str, float]:
        """Cosine similarity of the query to specific chunks (for BM25-only hits)."""
        return self.search.similarities(vector, ids) if ids else {}


log = logging.getLogger(__name__)
_cache: dict[str, IndexReader] = {}
_retired: dict[str, IndexReader] = {}  # the reader before the live one: questions may be on it
_loading: dict[str, str] = {}  # index key -> generation a thread is loading
_cache_lock = threading.Lock()
_warned: set[tuple[str, str, str]] = set()  # (index, generation, kind) said once


def load_index(settings: Settings) -> IndexReader:
    """The reader for the live generation (raises IndexMissingError / IndexCorruptError).

    While one thread loads a new generation (on a server: fetching its chunks and building BM25,
    seconds at 100k chunks), other questions keep being answered from the previous one.
    """
    store = open_store(settings)
    generation = store.current()
    if generation is None:
        raise store.missing_error()
    key = f"{store.key}|{settings.dense_search}"
    from rag.embedder import sentence_kind
    from rag.vector_cache import VECTORS

    VECTORS.use(store.key, kind := sentence_kind(settings))  # this index, this kind
    with _cache_lock:
        reader = _cache.get(key)
        if reader is not None and (
            reader.generation == generation or _loading.get(key) == generation
        ):
            _warn_kind(store.key, reader, kind)
            return reader
        _loading[key] = generation
    try:
        reader = IndexReader(store, generation, exact=settings.dense_search == "exact")
        reader.bm25  # noqa: B018 - build it now, not under the first question's lock
        reader.search  # noqa: B018
    finally:
        with _cache_lock:
            _loading.pop(key, None)
    _attach_sentences(store.key, reader)
    _warn_kind(store.key, reader, kind)
    with _cache_lock:
        previous, _cache[key] = _cache.get(key), reader
        stale = _retired.pop(key, None)
        if previous is not None:
            _retired[key] = previous
    if stale is not None:  # two generations old: its files are already deleted by the ingest
        stale.close()
    return reader


def _attach_sentences(key: str, reader: IndexReader) -> None:
    """Offer the generation's sentence table to this process's lookups, labelled with how it
    was made (the manifest): a question reads only tables of the kind its settings ask for."""
    from rag.embedder import space_key, table_space
    from rag.vector_cache import VECTORS

    manifest = reader.manifest
    VECTORS.attach(key, table_space(space_key(manifest.embed_model, manifest.embed_int8),
                                    manifest.sentence_vectors), reader.sentences)


def _warn_kind(key: str, reader: IndexReader, kind: str) -> None:
    """Say once per generation and kind when the settings ask for the other kind of sentence
    vectors than the index holds: its table is then not read (its sentences are encoded at
    question time, as for an index without a table)."""
    built = reader.manifest.sentence_vectors
    if reader.sentences is None or built == kind or (key, reader.generation, kind) in _warned:
        return
    _warned.add((key, reader.generation, kind))
    log.warning("The index in %s was built with PLAYBOOK_SENTENCE_VECTORS=%s but this process "
                "uses %s, so its sentence vectors are not used: run `playbook ingest` to "
                "rebuild it with %s.", key, built, kind, kind)
