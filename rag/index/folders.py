"""The embedded index's folders: the CURRENT pointer, the ingest lock, embedded Chroma clients
and the chunks file. Shared by the store (readers) and the generation writer (ingest)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from typing import Any

from rag.chunk import Chunk
from rag.errors import IndexCorruptError, IndexMissingError, PlaybookError
from rag.index.manifest import damaged

COLLECTION = "playbook_chunks"
GEN_PATTERN = re.compile(r"^gen-(\d{6})$")


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
    """Only one ingest at a time per index dir; a second one fails fast with a clear message.

    `filelock` uses fcntl on POSIX and msvcrt on Windows; the lock dies with its process, so a
    killed ingest never leaves the index locked."""
    from filelock import FileLock, Timeout

    try:
        index_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PlaybookError(f"The index path {index_dir} is not a usable folder.") from exc
    lock = FileLock(index_dir / "LOCK", timeout=0)
    try:
        lock.acquire()
    except Timeout as exc:
        raise PlaybookError(f"Another ingest is already running on {index_dir}.") from exc
    try:
        yield
    finally:
        lock.release()


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


_FIELDS = frozenset(f.name for f in fields(Chunk))


def read_chunks(folder: Path) -> list[Chunk]:
    """All chunks of a generation, in article order.

    This is most of what loading an index costs (a cold `playbook ask`), so: orjson when it is
    installed (3 x json here), and rows with exactly Chunk's fields filled in without the
    frozen dataclass's per-field `object.__setattr__` (half the time at 2.5k chunks); any
    other row goes through `Chunk(**row)`, which rejects unknown fields."""
    loads = _loads()
    chunks = []
    try:
        with open(folder / "chunks.jsonl", "rb") as lines:
            for line in lines:
                data = loads(line)
                data["heading_path"] = tuple(data["heading_path"])
                if data.keys() == _FIELDS:
                    chunk = Chunk.__new__(Chunk)
                    chunk.__dict__.update(data)
                else:
                    chunk = Chunk(**data)
                chunks.append(chunk)
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise damaged(folder.parent, exc) from exc
    return chunks


def _loads() -> Any:
    """orjson.loads if installed (optional, much faster), else json.loads."""
    try:
        import orjson
    except ImportError:
        return json.loads
    return orjson.loads


