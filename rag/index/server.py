"""The index on a Chroma server: generations as versions in one collection, a pointer flipped
last. Used when PLAYBOOK_CHROMA_URL is set. This module is the reading side; ingests write
through rag/index/server_writer.py.

    <prefix>-meta          small bookkeeping collection
      record CURRENT       metadata {generation, previous}: the pointer, upserted last
      record manifest:gen-000007-3fa9c2   document = the manifest (zlib+base64 JSON),
                           metadata {collection}: where the generation's records are
    <prefix>-v-1f2e3d4c    the chunks of every generation since the last full build, as versioned
                           records (rag/index/server_view.py): per chunk version its embedding,
                           metadata (article_id, source, position, chunk, born, died) and, as
                           document, the chunk itself (the line chunks.jsonl holds in embedded mode)

An incremental ingest writes only the changed articles' chunks (born = the new generation) and
marks the chunks they replace with died = the new generation: unchanged chunks cost nothing, so
one changed article costs the same at 1k or 100k chunks. A full build (`--rebuild`, a new model,
an index of the older one-collection-per-generation layout) starts a new collection.

Everything a replica needs is on the server, so any number of `playbook serve` processes on any
machines share one index. BM25 is not stored: each replica rebuilds it from the documents of the
generation the pointer names and caches it with that generation's reader (rag/index/reader.py),
so the keyword side can never disagree with the vectors.

Readers re-read CURRENT per question and see a generation only through its view, so versions
written by an ingest in progress (or by one that crashed) are invisible to them. Only one ingest
may run at a time: the lock is a file in the local index dir, so run ingests from one machine.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import zlib
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from rag.chunk import Chunk
from rag.errors import IndexCorruptError, IndexMissingError, PlaybookError
from rag.index.backend import DenseSearch, Writer
from rag.index.chroma_search import ChromaSearch
from rag.index.folders import ingest_lock
from rag.index.manifest import Manifest
from rag.index.server_view import PAGE, POINTER, GenerationView, number_of

if TYPE_CHECKING:
    from rag.index.bm25 import BM25
    from rag.settings import Settings

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
    """Generations as versions in a collection on a Chroma server (see the module docstring)."""

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
        # Collections of ours: versioned ones, and the older layout's one per generation.
        self._ours = re.compile(
            rf"^{re.escape(self.prefix)}-(v-[0-9a-f]{{8}}|gen-\d{{6}}-[0-9a-f]{{6}})$"
        )
        self._where: dict[str, str] = {}  # generation -> its collection (immutable once written)
        self._records: dict[str, list[str]] = {}  # generation -> its record ids (likewise)

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
        got = self._manifest_record(generation, ["documents"])
        try:
            assert got and got["ids"], "manifest record missing"
            packed = got["documents"][0]
            return Manifest(**json.loads(zlib.decompress(base64.b64decode(packed))))
        except (AssertionError, ValueError, TypeError, zlib.error) as exc:
            raise self._damaged(generation, exc) from exc

    def location(self, generation: str) -> str:
        """The name of the collection holding a generation's records (from its manifest record;
        without one there, the older layout's collection of its own)."""
        if generation not in self._where:
            got = self._manifest_record(generation, ["metadatas"])
            if not got or not got["ids"]:
                raise self._damaged(generation, LookupError("manifest record missing"))
            where = (got["metadatas"][0] or {}).get("collection")
            self._where[generation] = str(where or f"{self.prefix}-{generation}")
        return self._where[generation]

    def view(self, generation: str) -> GenerationView:
        """The generation's records, read as if the collection held nothing else."""
        name = self.location(generation)
        versioned = not name.endswith(generation)
        return GenerationView(self._collection(name, generation),
                              number_of(generation) if versioned else None)

    def verify(self, generation: str, manifest: Manifest) -> None:
        """Raise IndexCorruptError unless the server holds all of the generation's chunks."""
        view = self.view(generation)
        held = len(self.records(generation)) if view.number is not None else view.collection.count()
        if held != manifest.chunk_count:
            raise self._damaged(generation, ValueError(f"{held} of {manifest.chunk_count} chunks"))

    def search(self, generation: str, ids: list[str], exact: bool) -> DenseSearch:
        """No local matrix: readers query the server's collection, through the view."""
        view = self.view(generation)
        if view.number is not None:
            view.hold(self.records(generation))
        return ChromaSearch(view)

    def records(self, generation: str) -> list[str]:
        """The record ids of a generation, fetched once per store (a generation never changes
        once published; the reader's verify, chunks and search share one request)."""
        if generation not in self._records:
            self._records[generation] = self.view(generation).records()
        return self._records[generation]

    def release(self, generation: str) -> None:
        """Nothing to close: one HTTP client serves every generation."""

    def chunks(self, generation: str) -> list[Chunk]:
        """Every chunk of a generation, from the documents of its records: the ids in one
        filtered request, then the documents by id (paging documents with a `where` filter
        re-runs it per page: 11 s against 4.5 s at 20k chunks, measured)."""
        view = self.view(generation)
        records = self.records(generation)
        chunks = []
        for start in range(0, len(records), PAGE):
            got = view.collection.get(ids=records[start : start + PAGE], include=["documents"])
            for doc in got["documents"]:
                data = json.loads(doc)
                data["heading_path"] = tuple(data["heading_path"])
                chunks.append(Chunk(**data))
        chunks.sort(key=lambda c: (c.article_id, c.position))  # same order on every replica
        return chunks

    def bm25(self, generation: str, chunks: list[Chunk]) -> BM25:
        from rag.index.bm25 import BM25

        return BM25.build([c.id for c in chunks], [c.embed_text for c in chunks])

    def bm25_outdated(self, generation: str) -> bool:
        return False  # never saved: counted afresh by each reader

    def lock(self) -> AbstractContextManager[None]:
        return ingest_lock(self.index_dir)

    def writer(self, base: str | None) -> Writer:
        from rag.index.server_writer import ServerWriter

        return ServerWriter(self, base)

    def missing_error(self) -> IndexMissingError:
        return IndexMissingError(
            f"No index found on the Chroma server {self.url} (prefix '{self.prefix}'): "
            "run `playbook ingest` first."
        )

    def collections(self) -> list[str]:
        """Names of every collection of ours on the server except the bookkeeping one."""
        names = [c if isinstance(c, str) else c.name for c in self.client.list_collections()]
        return sorted(n for n in names if self._ours.match(n))

    def _manifest_record(self, generation: str, include: list[str]) -> Any:
        meta = self.meta()
        return meta.get(ids=[f"manifest:{generation}"], include=include) if meta else None

    def _collection(self, name: str, generation: str) -> Any:
        try:
            return self.client.get_collection(name, embedding_function=None)
        except PlaybookError:
            raise
        except Exception as exc:
            if _not_found(exc):
                raise self._damaged(generation, exc) from exc
            raise _unreachable(self.url, exc) from exc

    def _damaged(self, generation: str, exc: BaseException) -> IndexCorruptError:
        return IndexCorruptError(
            f"The index on the Chroma server {self.url} is damaged (generation {generation}: "
            f"{exc.__class__.__name__}): run `playbook ingest --rebuild`."
        )


def _not_found(exc: BaseException) -> bool:
    from chromadb.errors import NotFoundError

    return isinstance(exc, NotFoundError) or "does not exist" in str(exc)
