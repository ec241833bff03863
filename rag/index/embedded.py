"""The index on disk: immutable generations swapped in atomically.

    index_dir/
      CURRENT              name of the live generation, replaced with os.replace
      LOCK                 held by a running ingest
      gen-000007/          one complete, immutable index
        chroma/            embedded Chroma (vectors), written through LlamaIndex's ChromaVectorStore
        chunks.jsonl       every chunk with its metadata (passages, adjacency, BM25 source)
        vectors.npy        every chunk's vector, same order: exact dense search (rag/vectors.py)
        bm25.npz/.json     the BM25 term matrix
        manifest.json      articles, their content hashes and chunk ids; model and chunk settings

An ingest (`rag.generation.GenerationWriter`) copies the live generation to `gen-N.tmp-PID`,
applies its changes there, and only then renames it and flips CURRENT. A crash at any point
leaves CURRENT on a complete generation, so readers never see a half-written index and chunks
are never duplicated. The next ingest removes what a crashed one left behind (temporary folders,
a renamed generation CURRENT never pointed to), and each swap keeps the generation before it for
readers still in flight.

`rag.backend.open_store(settings)` picks the backend: `EmbeddedStore` here, or
`rag.store_server.ServerStore` (the same design on a Chroma server) when PLAYBOOK_CHROMA_URL is set.
Ingest and the readers only talk to the `rag.backend.Store` protocol.
"""

from __future__ import annotations

import fcntl
import json
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag import vectors
from rag.chunk import Chunk
from rag.errors import IndexCorruptError, IndexMissingError, PlaybookError

if TYPE_CHECKING:
    from rag.backend import Writer
    from rag.bm25 import BM25

COLLECTION = "playbook_chunks"
MANIFEST_VERSION = 1
GEN_PATTERN = re.compile(r"^gen-(\d{6})$")


@dataclass
class Manifest:
    """What a generation holds and how it was built."""

    embed_model: str
    chunk_tokens: int
    chunk_overlap: int
    created: str
    articles: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> hash, source, chunks
    version: int = MANIFEST_VERSION
    embed_int8: bool = False  # vectors from the int8 graph (older manifests: fp32)

    @property
    def chunk_count(self) -> int:
        return sum(len(a["chunks"]) for a in self.articles.values())

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        try:
            data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            return cls(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise damaged(folder.parent, exc) from exc


class EmbeddedStore:
    """Generations as folders under the index dir (see the module docstring)."""

    saves_bm25 = True

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self.key = str(index_dir)

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

    def chunks(self, generation: str) -> list[Chunk]:
        return read_chunks(self.index_dir / generation)

    def bm25(self, generation: str, chunks: list[Chunk]) -> BM25:
        from rag.bm25 import BM25

        try:
            return BM25.load(self.index_dir / generation)
        except (OSError, ValueError, KeyError) as exc:
            raise damaged(self.index_dir, exc) from exc

    def vectors(self, generation: str, ids: list[str]) -> vectors.VectorMatrix | None:
        """The generation's vector matrix for exact search (None: built before it existed)."""
        try:
            return vectors.VectorMatrix.open(self.index_dir / generation, ids)
        except (OSError, ValueError) as exc:
            raise damaged(self.index_dir, exc) from exc

    def collection(self, generation: str) -> Any:
        folder = self.index_dir / generation
        if not (folder / "chroma").is_dir():
            raise damaged(self.index_dir, FileNotFoundError("chroma"))
        try:
            return get_collection(open_chroma(folder / "chroma"))
        except Exception as exc:  # chromadb raises several types for a bad store
            raise damaged(self.index_dir, exc) from exc

    def release(self, generation: str) -> None:
        """Close the embedded Chroma client a reader opened on this generation, if any."""
        close_chroma_path(self.index_dir / generation / "chroma")

    def lock(self) -> AbstractContextManager[None]:
        return ingest_lock(self.index_dir)

    def writer(self, base: str | None) -> Writer:
        try:
            from rag.generation import GenerationWriter

            return GenerationWriter(self.index_dir, self.index_dir / base if base else None)
        except Exception as exc:  # the live generation's vector store cannot be copied/opened
            if base is None:
                raise
            raise damaged(self.index_dir, exc) from exc

    def missing_error(self) -> IndexMissingError:
        return _missing(self.index_dir)


def damaged(where: Path | str, exc: BaseException) -> IndexCorruptError:
    return IndexCorruptError(
        f"The index in {where} is damaged ({exc.__class__.__name__}): "
        "run `playbook ingest --rebuild`."
    )


def _missing(index_dir: Path) -> IndexMissingError:
    return IndexMissingError(
        f"No index found in {index_dir}: run `playbook ingest` first "
        "(or point --index / PLAYBOOK_INDEX_DIR at an existing one)."
    )


def current_generation(index_dir: Path) -> Path | None:
    """The live generation folder, or None when nothing has been ingested yet."""
    name = pointer(index_dir)
    if name is None:
        return None
    folder = index_dir / name
    if not GEN_PATTERN.match(name) or not (folder / "manifest.json").exists():
        raise IndexCorruptError(
            f"The index in {index_dir} is damaged (CURRENT points to {name[:40]!r}): "
            "run `playbook ingest --rebuild`."
        )
    return folder


def require_generation(index_dir: Path) -> Path:
    """The live generation, or a one-sentence error telling the user to ingest."""
    folder = current_generation(index_dir)
    if folder is None:
        raise _missing(index_dir)
    return folder


def pointer(index_dir: Path) -> str | None:
    """The raw content of CURRENT (unchecked), None when absent."""
    try:
        return (index_dir / "CURRENT").read_text(encoding="utf-8", errors="replace").strip()
    except FileNotFoundError:
        return None
    except NotADirectoryError as exc:
        raise IndexMissingError(f"The index path {index_dir} is a file, not a folder.") from exc
    except OSError as exc:
        raise damaged(index_dir, exc) from exc


@contextmanager
def ingest_lock(index_dir: Path) -> Iterator[None]:
    """Only one ingest at a time per index dir; a second one fails fast with a clear message."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PlaybookError(f"The index path {index_dir} is not a usable folder.") from exc
    with open(index_dir / "LOCK", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise PlaybookError(f"Another ingest is already running on {index_dir}.") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def open_chroma(folder: Path) -> Any:
    """An embedded Chroma client on `folder` with telemetry off."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.PersistentClient(
        path=str(folder), settings=ChromaSettings(anonymized_telemetry=False)
    )


def get_collection(client: Any, create: bool = False) -> Any:
    """Our collection, never with Chroma's default (downloading) embedding function."""
    if create:
        return client.get_or_create_collection(
            COLLECTION, embedding_function=None, metadata={"hnsw:space": "cosine"}
        )
    return client.get_collection(COLLECTION, embedding_function=None)


def close_chroma(client: Any) -> None:
    """Release an embedded client's files and memory (Chroma caches one system per path)."""
    _stop_system(str(getattr(client, "_identifier", "")))


def close_chroma_path(folder: Path) -> None:
    """Release the embedded client `open_chroma(folder)` made, if one is open."""
    import sys

    if "chromadb" in sys.modules:  # never import chromadb just to find nothing open
        _stop_system(str(folder))


def _stop_system(identifier: str) -> None:
    from chromadb.api.shared_system_client import SharedSystemClient

    system = SharedSystemClient._identifier_to_system.pop(identifier, None)
    if system is not None:
        system.stop()


def read_chunks(folder: Path) -> list[Chunk]:
    """All chunks of a generation, in article order."""
    chunks = []
    try:
        with open(folder / "chunks.jsonl", encoding="utf-8") as lines:
            for line in lines:
                data = json.loads(line)
                data["heading_path"] = tuple(data["heading_path"])
                chunks.append(Chunk(**data))
    except (OSError, ValueError, TypeError) as exc:
        raise damaged(folder.parent, exc) from exc
    return chunks


