"""The index on disk: immutable generations swapped in atomically.

    index_dir/
      CURRENT              name of the live generation, replaced with os.replace
      LOCK                 held by a running ingest
      gen-000007/          one complete, immutable index
        chroma/            embedded Chroma: the vectors, with article, source, position
        chunks.jsonl       every chunk with its metadata (passages, adjacency, BM25 source)
        vectors.npy        every chunk's vector, same order: exact dense search (rag/vectors.py)
        sentences.*        every chunk's sentence vectors, by text (rag/index/sentences.py)
        bm25.npz/.json     the BM25 term matrix
        manifest.json      articles, their content hashes and chunk ids; model and chunk settings

An ingest (`rag.index.embedded_writer.GenerationWriter`) copies the live generation to
`gen-N.tmp-PID`, applies its changes there, and only then renames it and flips CURRENT. A
crash at any point leaves CURRENT on a complete generation, so readers never see a half-written
index and chunks are never duplicated. The next ingest removes what a crashed one left behind
(temporary folders, a renamed generation CURRENT never pointed to), and each swap keeps the
generation before it for readers still in flight.

`rag.index.open_store(settings)` picks the backend from the registry in rag/index/backend.py:
`EmbeddedStore` here, or `rag.index.server.ServerStore` (the same design on a Chroma server) when
PLAYBOOK_CHROMA_URL is set. Ingest and the readers only talk to the `Store` protocol.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

from rag.chunk import Chunk
from rag.errors import IndexMissingError
from rag.index import sentences, vectors
from rag.index.embedded_writer import GenerationWriter
from rag.index.folders import (
    close_chroma_path,
    current_generation,
    get_collection,
    ingest_lock,
    open_chroma,
    read_chunks,
)
from rag.index.manifest import Manifest, damaged, missing

if TYPE_CHECKING:
    from rag.index.backend import DenseSearch, Writer
    from rag.index.bm25 import BM25
    from rag.settings import Settings


class EmbeddedStore:
    """Generations as folders under the index dir (see the module docstring)."""

    saves_bm25 = True

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self.key = str(index_dir)

    @classmethod
    def from_settings(cls, settings: Settings) -> EmbeddedStore:
        return cls(settings.index_path)

    def current(self) -> str | None:
        folder = current_generation(self.index_dir)
        return folder.name if folder else None

    def manifest(self, generation: str) -> Manifest:
        return Manifest.read(self.index_dir / generation)

    def verify(self, generation: str, manifest: Manifest) -> None:
        """Raise IndexCorruptError unless every part of the generation is on disk."""
        folder = self.index_dir / generation
        for part in ("chroma/chroma.sqlite3", "chunks.jsonl", "bm25.npz", "bm25.json"):
            if not (folder / part).is_file():
                raise damaged(self.index_dir, FileNotFoundError(part))
        with open(folder / "chroma" / "chroma.sqlite3", "rb") as db:
            if db.read(16) != b"SQLite format 3\x00":
                raise damaged(self.index_dir, ValueError("chroma.sqlite3 is not a database"))
        with open(folder / "chunks.jsonl", "rb") as lines:
            count = sum(1 for line in lines if line.endswith(b"\n"))
        if count != manifest.chunk_count:
            raise damaged(self.index_dir, ValueError("chunks.jsonl is incomplete"))
        try:
            rows = vectors.rows(folder)
        except (OSError, ValueError) as exc:
            raise damaged(self.index_dir, exc) from exc
        if rows is not None and rows != count:
            raise damaged(self.index_dir, ValueError("vectors.npy does not match chunks.jsonl"))
        self.sentences(generation)  # layout checked here; rows as they are read

    def sentences(self, generation: str) -> sentences.SentenceTable | None:
        """The generation's sentence vectors, memory-mapped (None: built before they were)."""
        try:
            return sentences.SentenceTable.open(self.index_dir / generation)
        except (OSError, ValueError) as exc:
            raise damaged(self.index_dir, exc) from exc

    def chunks(self, generation: str) -> list[Chunk]:
        return read_chunks(self.index_dir / generation)

    def bm25(self, generation: str, chunks: list[Chunk]) -> BM25:
        from rag.index.bm25 import BM25

        try:
            return BM25.load(self.index_dir / generation, chunks)
        except (OSError, ValueError, KeyError) as exc:
            raise damaged(self.index_dir, exc) from exc

    def bm25_outdated(self, generation: str) -> bool:
        """The generation's BM25 was counted another way than this version counts: every load
        re-counts it until an ingest saves it again."""
        from rag.index.bm25 import BM25

        try:
            return BM25.outdated(self.index_dir / generation)
        except (OSError, ValueError, KeyError) as exc:
            raise damaged(self.index_dir, exc) from exc

    def search(self, generation: str, ids: list[str], exact: bool) -> DenseSearch:
        """Exact search on the generation's vector matrix (`exact`, and the generation has
        one), else Chroma's HNSW index of the same vectors."""
        if exact:
            try:
                matrix = vectors.VectorMatrix.open(self.index_dir / generation, ids)
            except (OSError, ValueError) as exc:
                raise damaged(self.index_dir, exc) from exc
            if matrix is not None:
                return matrix
        from rag.index.chroma_search import ChromaSearch

        folder = self.index_dir / generation
        if not (folder / "chroma").is_dir():
            raise damaged(self.index_dir, FileNotFoundError("chroma"))
        try:
            return ChromaSearch(get_collection(open_chroma(folder / "chroma")))
        except Exception as exc:  # chromadb raises several types for a bad store
            raise damaged(self.index_dir, exc) from exc

    def release(self, generation: str) -> None:
        """Close the embedded Chroma client a reader opened on this generation, if any."""
        close_chroma_path(self.index_dir / generation / "chroma")

    def lock(self) -> AbstractContextManager[None]:
        return ingest_lock(self.index_dir)

    def writer(self, base: str | None) -> Writer:
        try:
            return GenerationWriter(self.index_dir, self.index_dir / base if base else None)
        except Exception as exc:  # the live generation's vector store cannot be copied/opened
            if base is None:
                raise
            raise damaged(self.index_dir, exc) from exc

    def missing_error(self) -> IndexMissingError:
        return missing(self.index_dir)
