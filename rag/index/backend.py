"""The store protocol ingest and the readers talk to, and the factory that picks a backend.

Two backends implement it with the same design (immutable generations, a pointer flipped last):
`rag.store.EmbeddedStore` (folders on disk) and `rag.store_server.ServerStore` (a Chroma server,
used when PLAYBOOK_CHROMA_URL is set).
"""

from __future__ import annotations

import os
import signal
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

    from rag.bm25 import BM25
    from rag.chunk import Chunk
    from rag.errors import IndexMissingError
    from rag.settings import Settings
    from rag.store import Manifest
    from rag.vectors import VectorMatrix

CRASH_POINTS = ("before-embed", "mid-embed", "after-embed", "mid-swap")


def crash_point_for_tests(name: str) -> None:
    """TEST-ONLY hook: kill -9 this process at the named ingest step when the environment
    variable PLAYBOOK_TEST_CRASH_AT names it (one of CRASH_POINTS). Does nothing otherwise."""
    if os.environ.get("PLAYBOOK_TEST_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


class Writer(Protocol):
    """Builds the next generation; nothing is visible to readers before `commit`."""

    name: str

    def remove(self, chunk_ids: list[str]) -> None: ...
    def add(self, chunks: list[Chunk], embeddings: np.ndarray) -> None: ...
    def commit(self, manifest: Manifest, chunks: list[Chunk], bm25: BM25 | None) -> str: ...
    def abort(self) -> None: ...


class Store(Protocol):
    """Where generations live. `current` re-reads the pointer on every call (cheap)."""

    key: str  # identifies the index (reader cache key)
    saves_bm25: bool  # False: readers rebuild BM25 from the generation's chunks

    def current(self) -> str | None: ...
    def manifest(self, generation: str) -> Manifest: ...
    def verify(self, generation: str, manifest: Manifest) -> None: ...
    def chunks(self, generation: str) -> list[Chunk]: ...
    def bm25(self, generation: str, chunks: list[Chunk]) -> BM25: ...
    def vectors(self, generation: str, ids: list[str]) -> VectorMatrix | None: ...
    def collection(self, generation: str) -> Any: ...
    def release(self, generation: str) -> None: ...
    def lock(self) -> AbstractContextManager[None]: ...
    def writer(self, base: str | None) -> Writer: ...
    def missing_error(self) -> IndexMissingError: ...


def open_store(settings: Settings) -> Store:
    """The configured backend: a Chroma server when `chroma_url` is set, else embedded."""
    if settings.chroma_url:
        from rag.store_server import ServerStore

        return ServerStore(settings)
    from rag.store import EmbeddedStore

    return EmbeddedStore(settings.index_path)
