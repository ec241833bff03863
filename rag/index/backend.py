"""The protocols ingest and the readers talk to, and the registry that picks a backend.

Two backends implement them with the same design (immutable generations, a pointer flipped
last): `rag.index.embedded.EmbeddedStore` (folders on disk) and `rag.index.server.ServerStore`
(a Chroma server, used when PLAYBOOK_CHROMA_URL is set). To add a backend, write a class with
the `Store` methods in its own module and add one row to STORES.
"""

from __future__ import annotations

import importlib
import os
import signal
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

    from rag.chunk import Chunk
    from rag.errors import IndexMissingError
    from rag.index.bm25 import BM25
    from rag.index.manifest import Manifest
    from rag.settings import Settings

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


class DenseSearch(Protocol):
    """Dense search over one generation: the vector matrix, or a Chroma collection."""

    def top(self, vector: Sequence[float], k: int) -> list[tuple[str, float]]: ...
    def similarities(self, vector: Sequence[float], ids: Sequence[str]) -> dict[str, float]: ...


class Store(Protocol):
    """Where generations live. `current` re-reads the pointer on every call (cheap)."""

    key: str  # identifies the index (reader cache key)
    saves_bm25: bool  # False: readers rebuild BM25 from the generation's chunks

    def current(self) -> str | None: ...
    def manifest(self, generation: str) -> Manifest: ...
    def verify(self, generation: str, manifest: Manifest) -> None: ...
    def chunks(self, generation: str) -> list[Chunk]: ...
    def bm25(self, generation: str, chunks: list[Chunk]) -> BM25: ...
    def bm25_outdated(self, generation: str) -> bool: ...
    def search(self, generation: str, ids: list[str], exact: bool) -> DenseSearch: ...
    def release(self, generation: str) -> None: ...
    def lock(self) -> AbstractContextManager[None]: ...
    def writer(self, base: str | None) -> Writer: ...
    def missing_error(self) -> IndexMissingError: ...


# name -> (module, class, the setting that selects it). The first whose setting is set wins;
# the last row is the default. Modules are imported only when chosen (chromadb costs ~0.8 s).
STORES: dict[str, tuple[str, str, str | None]] = {
    "server": ("rag.index.server", "ServerStore", "chroma_url"),
    "embedded": ("rag.index.embedded", "EmbeddedStore", None),
}


def open_store(settings: Settings) -> Store:
    """The configured backend: a Chroma server when `chroma_url` is set, else embedded."""
    for module, name, setting in STORES.values():
        if setting is None or getattr(settings, setting):
            cls = getattr(importlib.import_module(module), name)
            store: Store = cls.from_settings(settings)
            return store
    raise AssertionError("STORES has no default row")
