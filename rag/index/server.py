"""The index on a Chroma server: the embedded design (immutable generations, a pointer flipped
last), with collections in place of folders. Used when PLAYBOOK_CHROMA_URL is set.

    <prefix>-meta          small bookkeeping collection
      record CURRENT       metadata {generation, previous}: the pointer, upserted last
      record manifest:gen-000007-3fa9c2   document = the generation's manifest (zlib+base64 JSON)
    <prefix>-gen-000007-3fa9c2   one complete, immutable generation: per chunk its embedding, its
                           metadata (article_id, source, position) and, as document, the chunk
                           itself (the line chunks.jsonl holds in embedded mode)

Everything a replica needs is on the server, so any number of `playbook serve` processes on any
machines share one index. BM25 is not stored: each replica rebuilds it from the documents of the
generation the pointer names and caches it with that generation's reader (rag/index/reader.py),
so the keyword side can never disagree with the vectors, and every replica computes the same matrix.

An ingest builds `<prefix>-gen-N` (copying the live generation's records, then applying the
change), checks that it holds exactly the expected chunk ids, writes the manifest record and only
then upserts CURRENT (one record: atomic). Readers re-read CURRENT per question. A crash before
the upsert leaves the old generation live; the next ingest deletes collections that are neither
live nor the previous one (kept for questions in flight), i.e. whatever a crashed ingest left.
Only one ingest may run at a time: the lock is a file in the local index dir, so run ingests
from one machine (a CI job, a cron host).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import zlib
from contextlib import AbstractContextManager
from dataclasses import asdict
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np

from rag.chunk import Chunk
from rag.errors import IndexCorruptError, IndexMissingError, PlaybookError
from rag.index.backend import DenseSearch, Writer, crash_point_for_tests
from rag.index.chroma_search import ChromaSearch
from rag.index.folders import ingest_lock
from rag.index.manifest import Manifest

if TYPE_CHECKING:
    from rag.index.bm25 import BM25
    from rag.settings import Settings

POINTER = "CURRENT"
PAGE = 1000
_clients: dict[tuple[str, str, float, float], Any] = {}
_clients_lock = threading.Lock()


def connect(url: str, token: str | None, read: float = 10.0, connect: float = 5.0) -> Any:
    """A (cached, thread-safe) HTTP client for the Chroma server at `url`: every request gives
    up after `connect` seconds to connect and `read` seconds to answer
    (rag/index/chroma_http.py)."""
    key = (url, token or "", read, connect)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = _new_client(url, token, read, connect)
        return client


def _new_client(url: str, token: str | None, read: float, connect: float) -> Any:
    from rag.index.chroma_http import timed_client

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PlaybookError(f"PLAYBOOK_CHROMA_URL must look like http://host:port, not '{url}'.")
    headers = {"Authorization": f"Bearer {token}"} if token else None
    try:
        return timed_client(
            url, parts.hostname, parts.port or (443 if parts.scheme == "https" else 8000),
            parts.scheme == "https", headers, read, connect,
        )
    except PlaybookError:
        raise
    except Exception as exc:  # chromadb raises ValueError etc. when the server is not Chroma
        raise _unreachable(url, exc) from exc


def _unreachable(url: str, exc: BaseException) -> PlaybookError:
    return PlaybookError(
        f"Cannot use the Chroma server at {url} ({exc.__class__.__name__}): start it "
        "(`chroma run --host HOST --port PORT --path DIR`) or fix PLAYBOOK_CHROMA_URL."
    )


class ServerStore:
    """Generations as collections on a Chroma server (see the module docstring)."""

    saves_bm25 = False

    @classmethod
    def from_settings(cls, settings: Settings) -> ServerStore:
        return cls(settings)

    def __init__(self, settings: Settings) -> None:
        assert settings.chroma_url
        token = settings.chroma_token.get_secret_value() if settings.chroma_token else None
        self.url = settings.chroma_url
        self.prefix = settings.chroma_prefix
        self.key = f"{self.url}#{self.prefix}"
        self.index_dir = settings.index_path  # holds only the ingest lock
        self.client = connect(
            self.url, token, settings.chroma_timeout, settings.chroma_connect_timeout
        )
        self._gen = re.compile(rf"^{re.escape(self.prefix)}-(gen-\d{{6}}-[0-9a-f]{{6}})$")

    def collection_name(self, generation: str) -> str:
        return f"{self.prefix}-{generation}"

    def meta(self, create: bool = False) -> Any:
        """The bookkeeping collection (None when absent and not asked to create it)."""
        name = f"{self.prefix}-meta"
        try:
            if create:
                return self.client.get_or_create_collection(name, embedding_function=None)
            return self.client.get_collection(name, embedding_function=None)
        except PlaybookError:
            raise
        except Exception as exc:
            if not create and _not_found(exc):
                return None
            raise _unreachable(self.url, exc) from exc

    def pointer(self) -> dict[str, str]:
        """{generation, previous} from the CURRENT record; empty before the first ingest."""
        meta = self.meta()
        if meta is None:
            return {}
        try:
            got = meta.get(ids=[POINTER], include=["metadatas"])
        except PlaybookError:
            raise
        except Exception as exc:
            raise _unreachable(self.url, exc) from exc
        return {k: str(v) for k, v in (got["metadatas"] or [{}])[0].items()} if got["ids"] else {}

    def current(self) -> str | None:
        return self.pointer().get("generation") or None

    def manifest(self, generation: str) -> Manifest:
        meta = self.meta()
        got = meta.get(ids=[f"manifest:{generation}"], include=["documents"]) if meta else None
        try:
            assert got and got["ids"], "manifest record missing"
            packed = got["documents"][0]
            return Manifest(**json.loads(zlib.decompress(base64.b64decode(packed))))
        except (AssertionError, ValueError, TypeError, zlib.error) as exc:
            raise self._damaged(generation, exc) from exc

    def verify(self, generation: str, manifest: Manifest) -> None:
        """Raise IndexCorruptError unless the generation's collection holds all its chunks."""
        held = self.collection(generation).count()
        if held != manifest.chunk_count:
            raise self._damaged(generation, ValueError(f"{held} of {manifest.chunk_count} chunks"))

    def search(self, generation: str, ids: list[str], exact: bool) -> DenseSearch:
        """No local matrix: readers query the server's collection."""
        return ChromaSearch(self.collection(generation))

    def release(self, generation: str) -> None:
        """Nothing to close: one HTTP client serves every generation."""

    def chunks(self, generation: str) -> list[Chunk]:
        """Every chunk of a generation, from the documents of its collection."""
        chunks = []
        for _, documents, _, _ in _pages(self.collection(generation), ["documents"]):
            for doc in documents:
                data = json.loads(doc)
                data["heading_path"] = tuple(data["heading_path"])
                chunks.append(Chunk(**data))
        chunks.sort(key=lambda c: (c.article_id, c.position))  # same order on every replica
        return chunks

    def bm25(self, generation: str, chunks: list[Chunk]) -> BM25:
        from rag.index.bm25 import BM25

        return BM25.build([c.id for c in chunks], [c.embed_text for c in chunks])

    def collection(self, generation: str) -> Any:
        try:
            return self.client.get_collection(
                self.collection_name(generation), embedding_function=None
            )
        except PlaybookError:
            raise
        except Exception as exc:
            if _not_found(exc):
                raise self._damaged(generation, exc) from exc
            raise _unreachable(self.url, exc) from exc

    def lock(self) -> AbstractContextManager[None]:
        return ingest_lock(self.index_dir)

    def writer(self, base: str | None) -> Writer:
        return ServerWriter(self, base)

    def missing_error(self) -> IndexMissingError:
        return IndexMissingError(
            f"No index found on the Chroma server {self.url} (prefix '{self.prefix}'): "
            "run `playbook ingest` first."
        )

    def generations(self) -> list[str]:
        """Generation names of every collection of ours on the server."""
        names = [c if isinstance(c, str) else c.name for c in self.client.list_collections()]
        return sorted(m.group(1) for n in names if (m := self._gen.match(n)))

    def drop(self, keep: set[str]) -> None:
        """Delete generation collections and manifest records that are not in `keep`."""
        for generation in self.generations():
            if generation not in keep:
                self.client.delete_collection(self.collection_name(generation))
        meta = self.meta(create=True)
        records = meta.get(where={"kind": "manifest"}, include=[])["ids"]
        stale = [r for r in records if r.removeprefix("manifest:") not in keep]
        if stale:
            meta.delete(ids=stale)

    def _damaged(self, generation: str, exc: BaseException) -> IndexCorruptError:
        return IndexCorruptError(
            f"The index on the Chroma server {self.url} is damaged (generation {generation}: "
            f"{exc.__class__.__name__}): run `playbook ingest --rebuild`."
        )


class ServerWriter:
    """Builds `<prefix>-gen-N` on the server; `commit` checks it and upserts the pointer."""

    def __init__(self, store: ServerStore, base: str | None) -> None:
        self.store = store
        pointer = store.pointer()
        store.drop(keep={pointer.get("generation", ""), pointer.get("previous", "")})
        numbers = [int(g[4:10]) for g in store.generations()]
        numbers += [int(g[4:10]) for g in pointer.values() if g.startswith("gen-")]
        # A random suffix: names never repeat, even on a reset server, so nothing cached by
        # generation name (readers, refusal calibration) can be mistaken for a new generation.
        self.name = f"gen-{max(numbers, default=0) + 1:06d}-{secrets.token_hex(3)}"
        self._collection = store.client.create_collection(
            store.collection_name(self.name), embedding_function=None,
            metadata={"hnsw:space": "cosine"},
        )
        if base is not None:
            for ids, documents, metadatas, embeddings in _pages(
                store.collection(base), ["documents", "metadatas", "embeddings"]
            ):
                self._collection.add(
                    ids=ids, documents=documents, metadatas=metadatas, embeddings=embeddings
                )

    def remove(self, chunk_ids: list[str]) -> None:
        """Delete chunks (of changed or removed articles)."""
        for start in range(0, len(chunk_ids), PAGE):
            self._collection.delete(ids=chunk_ids[start : start + PAGE])

    def add(self, chunks: list[Chunk], embeddings: np.ndarray) -> None:
        """Add chunks: the embedding, a little metadata and the chunk itself as document."""
        for start in range(0, len(chunks), PAGE):
            part = chunks[start : start + PAGE]
            self._collection.add(
                ids=[c.id for c in part],
                embeddings=np.asarray(embeddings[start : start + PAGE], np.float32).tolist(),
                documents=[json.dumps(asdict(c), ensure_ascii=False) for c in part],
                metadatas=[
                    {"article_id": c.article_id, "source": c.source, "position": c.position}
                    for c in part
                ],
            )

    def commit(self, manifest: Manifest, chunks: list[Chunk], bm25: BM25 | None) -> str:
        """Check the new collection holds exactly `chunks`, then publish it (pointer last)."""
        held = sorted(i for ids, _, _, _ in _pages(self._collection, []) for i in ids)
        if held != sorted(c.id for c in chunks):
            raise IndexCorruptError(
                f"The new generation on {self.store.url} holds {len(held)} chunks instead of "
                f"{len(chunks)}; the live index is unchanged."
            )
        meta = self.store.meta(create=True)
        packed = base64.b64encode(zlib.compress(json.dumps(asdict(manifest)).encode())).decode()
        meta.upsert(
            ids=[f"manifest:{self.name}"], documents=[packed], embeddings=[[1.0]],
            metadatas=[{"kind": "manifest"}],
        )
        crash_point_for_tests("mid-swap")
        previous = self.store.current() or ""
        meta.upsert(
            ids=[POINTER], documents=[self.name], embeddings=[[1.0]],
            metadatas=[{"kind": "pointer", "generation": self.name, "previous": previous}],
        )
        self.store.drop(keep={self.name, previous})
        return self.name

    def abort(self) -> None:
        """Throw the unfinished generation away."""
        try:
            self.store.client.delete_collection(self.store.collection_name(self.name))
        except Exception:  # noqa: S110 - the next ingest removes leftovers anyway
            pass


def _pages(collection: Any, include: list[str]) -> Any:
    """(ids, documents, metadatas, embeddings) of a collection, PAGE records at a time."""
    offset = 0
    while True:
        got = collection.get(include=include, limit=PAGE, offset=offset)
        if not got["ids"]:
            return
        yield (got["ids"], got.get("documents"), got.get("metadatas"), got.get("embeddings"))
        offset += len(got["ids"])


def _not_found(exc: BaseException) -> bool:
    from chromadb.errors import NotFoundError

    return isinstance(exc, NotFoundError) or "does not exist" in str(exc)
