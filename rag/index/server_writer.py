"""Writing the next generation to a Chroma server (the layout is described in server.py).

An incremental ingest into generation N (the live one being C) touches only what changed:
`remove` sets died = N on the records of changed or removed articles (a metadata update: no
vector moves), `add` writes the new chunks as records born = N, `commit` checks that generation
N holds exactly the expected chunk ids, writes its manifest and only then upserts CURRENT. Until
that upsert readers see C, whose records all still say born <= C < died.

`collect` removes what no kept generation (live and previous, the latter for questions in
flight) can see, and undoes what an ingest that never flipped the pointer left: records born
after C are deleted and death marks after C are cleared. Every ingest runs it first (so a crash
at any point is cleaned up by the next ingest) and after its flip (garbage collection).
"""

from __future__ import annotations

import base64
import json
import secrets
import zlib
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.errors import IndexCorruptError, PlaybookError
from rag.index.backend import crash_point_for_tests
from rag.index.server_view import (
    ALIVE,
    ID_PAGE,
    PAGE,
    POINTER,
    GenerationView,
    holds,
    number_of,
    pages,
    record_id,
)

if TYPE_CHECKING:
    from rag.chunk import Chunk
    from rag.index.bm25 import BM25
    from rag.index.manifest import Manifest
    from rag.index.server import ServerStore

MARK_PAGE = 500  # chunk ids per `$in` filter when marking records dead


class ServerWriter:
    """Writes generation N into the live collection (or a new one for a full build)."""

    def __init__(self, store: ServerStore, base: str | None) -> None:
        self.store = store
        pointer = store.pointer()
        live, previous = pointer.get("generation", ""), pointer.get("previous", "")
        collect(store, live, previous)  # whatever a crashed ingest left
        self.number = max((number_of(g) for g in (live, previous) if g), default=0) + 1
        # A random suffix: names never repeat, even on a reset server, so nothing cached by
        # generation name (readers, refusal calibration) can be mistaken for a new generation.
        self.name = f"gen-{self.number:06d}-{secrets.token_hex(3)}"
        self.published = False
        base_view = store.view(base) if base is not None else None
        self.base_number = base_view.number if base_view is not None else None
        if base_view is not None and base_view.number is not None:
            self.fresh = False
            self.collection_name = store.location(base)  # type: ignore[arg-type]
            self._collection = base_view.collection
        else:  # a full build, or the first ingest over the older layout (copied over once)
            self.fresh = True
            self.collection_name = f"{store.prefix}-v-{secrets.token_hex(4)}"
            self._collection = store.client.create_collection(
                self.collection_name, embedding_function=None, metadata={"hnsw:space": "cosine"}
            )
            if base_view is not None:
                self._copy(base_view)

    def remove(self, chunk_ids: list[str]) -> None:
        """Chunks of changed or removed articles leave generation N: their records get
        died = N (readers of the live generation still see them)."""
        for start in range(0, len(chunk_ids), MARK_PAGE):
            page = chunk_ids[start : start + MARK_PAGE]
            if self.fresh:  # copies made by this writer: nobody else can see them
                self._collection.delete(ids=[record_id(c, self.number) for c in page])
                continue
            got = self._collection.get(where={"chunk": {"$in": page}}, include=["metadatas"])
            assert self.base_number is not None
            dying = [i for i, m in zip(got["ids"], got["metadatas"], strict=True)
                     if holds(m, self.base_number)]
            if dying:
                self._collection.update(ids=dying, metadatas=[{"died": self.number}] * len(dying))
            crash_point_for_tests("server-after-mark")

    def add(self, chunks: list[Chunk], embeddings: np.ndarray) -> None:
        """Add chunks as records born = N: the embedding, a little metadata, the chunk itself
        as document."""
        for start in range(0, len(chunks), PAGE):
            part = chunks[start : start + PAGE]
            self._collection.upsert(
                ids=[record_id(c.id, self.number) for c in part],
                embeddings=np.asarray(embeddings[start : start + PAGE], np.float32).tolist(),
                documents=[json.dumps(asdict(c), ensure_ascii=False) for c in part],
                metadatas=[self._metadata(c.id, c.article_id, c.source, c.position) for c in part],
            )

    def commit(self, manifest: Manifest, chunks: list[Chunk], bm25: BM25 | None) -> str:
        """Check that generation N holds exactly `chunks`, then publish it (pointer last) and
        collect what no kept generation needs."""
        held = sorted(GenerationView(self._collection, self.number).ids())
        if held != sorted(c.id for c in chunks):
            raise IndexCorruptError(
                f"The new generation on {self.store.url} holds {len(held)} chunks instead of "
                f"{len(chunks)}; the live index is unchanged."
            )
        meta = self.store.meta(create=True)
        packed = base64.b64encode(zlib.compress(json.dumps(asdict(manifest)).encode())).decode()
        meta.upsert(
            ids=[f"manifest:{self.name}"], documents=[packed], embeddings=[[1.0]],
            metadatas=[{"kind": "manifest", "collection": self.collection_name}],
        )
        crash_point_for_tests("mid-swap")
        previous = self.store.current() or ""
        meta.upsert(
            ids=[POINTER], documents=[self.name], embeddings=[[1.0]],
            metadatas=[{"kind": "pointer", "generation": self.name, "previous": previous}],
        )
        self.published = True
        crash_point_for_tests("server-after-flip")
        try:
            collect(self.store, self.name, previous, crashed=False)
        except PlaybookError:  # published already: what is left is invisible, and the next
            pass  # ingest collects it (as after a crash here: test_kill_9_server_after_flip)
        return self.name

    def abort(self) -> None:
        """Undo what this writer did (the next ingest's `collect` does it if this fails too);
        nothing once the pointer names the new generation."""
        try:
            if self.published:
                return
            if self.fresh:
                self.store.client.delete_collection(self.collection_name)
            elif self.base_number is not None:
                rewind(self._collection, self.base_number)
        except Exception:  # noqa: S110 - the next ingest removes leftovers anyway
            pass

    def _metadata(self, chunk_id: str, article_id: str, source: str, position: int) -> dict:
        return {"article_id": article_id, "source": source, "position": position,
                "chunk": chunk_id, "born": self.number, "died": ALIVE}

    def _copy(self, legacy: GenerationView) -> None:
        """Copy a generation of the older layout (one collection each) into records born = N."""
        for got in pages(legacy, ["documents", "metadatas", "embeddings"]):
            metas = [self._metadata(i, m["article_id"], m["source"], m["position"])
                     for i, m in zip(got["ids"], got["metadatas"], strict=True)]
            self._collection.upsert(
                ids=[record_id(i, self.number) for i in got["ids"]],
                embeddings=np.asarray(got["embeddings"], np.float32).tolist(),
                documents=got["documents"], metadatas=metas,
            )


def collect(store: ServerStore, live: str, previous: str, crashed: bool = True) -> None:
    """Delete what neither `live` nor `previous` can see, including a crashed ingest's leftovers:
    other collections of ours, records dead for both, records born after `live`, and manifest
    records of other generations; clear death marks set after `live` (unless `crashed` is
    False: right after a flip nothing can be newer than the generation it published)."""
    keep = [g for g in (live, previous) if g]
    where: dict[str, str] = {}
    for generation in keep:
        try:
            where[generation] = store.location(generation)
        except IndexCorruptError:  # damaged: nothing of it is worth keeping (a rebuild follows)
            pass
    present = store.collections()
    for name in present:
        if name not in where.values():
            _drop(store, name)
    if where.get(live) in present and store.view(live).number is not None:
        collection = store.view(live).collection
        same = previous in where and where[previous] == where[live]
        floor = number_of(previous) if same else number_of(live)
        delete_where(collection, {"died": {"$lte": floor}})
        if crashed:  # else (after our own flip, under the lock) nothing can be newer than live
            rewind(collection, number_of(live))
    meta = store.meta(create=True)
    records = meta.get(where={"kind": "manifest"}, include=[])["ids"]
    stale = [r for r in records if r.removeprefix("manifest:") not in keep]
    if stale:
        meta.delete(ids=stale)


def _drop(store: ServerStore, name: str) -> None:
    """Delete a collection nobody reads. Chroma can take longer than the request timeout for
    a large one (measured: > 10 s for 20k records at load 24) and goes on deleting it after
    the client gave up; the next ingest finds it again if it did not, so a timeout here does
    not fail the ingest."""
    from rag.index.chroma_http import ChromaTimeoutError

    try:
        store.client.delete_collection(name)
    except ChromaTimeoutError:
        pass


def rewind(collection: Any, number: int) -> None:
    """Make `collection` hold what it held after generation `number` was written: delete
    records born later, clear death marks set later."""
    delete_where(collection, {"born": {"$gt": number}})
    marked = {"$and": [{"died": {"$gt": number}}, {"died": {"$lt": ALIVE}}]}
    while ids := collection.get(where=marked, include=[], limit=PAGE)["ids"]:
        collection.update(ids=ids, metadatas=[{"died": ALIVE}] * len(ids))


def delete_where(collection: Any, where: dict[str, Any]) -> None:
    """Delete the records matching `where`, PAGE at a time: one `delete(where=...)` of the
    thousands of versions a large change leaves could outlast the request timeout."""
    while ids := collection.get(where=where, include=[], limit=PAGE)["ids"]:
        collection.delete(ids=ids)


def leftovers(store: ServerStore) -> list[str]:
    """What `collect` would delete or clear, one line each: records neither the live nor the
    previous generation holds, death marks after the live one (an ingest that crashed after
    writing), other collections and manifests (old versions not yet collected)."""
    pointer = store.pointer()
    keep = [g for g in (pointer.get("generation", ""), pointer.get("previous", "")) if g]
    where = {g: store.location(g) for g in keep}
    found = [f"collection {n}" for n in store.collections() if n not in where.values()]
    if keep and store.view(keep[0]).number is not None:
        numbers = [number_of(g) for g in keep if where[g] == where[keep[0]]]
        for got in pages(store.view(keep[0]).collection, ["metadatas"], ID_PAGE):
            for record, metadata in zip(got["ids"], got["metadatas"], strict=True):
                if not any(holds(metadata, n) for n in numbers):
                    found.append(f"record {record}")
                elif numbers[0] < int(metadata["died"]) < ALIVE:
                    found.append(f"mark {record}")  # a death no flipped generation made
    manifests = store.meta(create=True).get(where={"kind": "manifest"}, include=[])["ids"]
    found += [f"manifest {m}" for m in manifests if m.removeprefix("manifest:") not in keep]
    return found
