"""One generation of a versioned Chroma collection, seen through the read API of a collection.

In server mode every generation of an index shares one collection. A record is one version of
a chunk: id `<chunk id>@<born>`, metadata `chunk` (the chunk id), `born` (the generation number
that wrote it) and `died` (the first generation number that no longer holds it; ALIVE while
the live one does). Generation g holds the records with born <= g < died. Metadata values
must be scalars in Chroma, so two integers say what a set of generation tags would.

`GenerationView` answers `query` and `get` as the collection would if it held only generation g,
with chunk ids as ids, so `ChromaSearch` and the store read one generation without knowing about
versions. A `where` filter on born/died costs Chroma ~250 ms per query at 20k records (measured,
BENCHMARKS.md) against ~7 ms unfiltered, so a query asks for k + the number of records hidden
from g (the versions of the last ingest's changed articles, usually a handful), drops the hidden
ones itself, and falls back to the filter only when that did not leave k.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

ALIVE = 2**31 - 1  # `died` of a record that no generation has replaced yet
PAGE = 1000  # records per request when documents or vectors travel
ID_PAGE = 50000  # ids (and a little metadata) per request
MAX_OVERFETCH = 2000  # beyond this many hidden records, let Chroma filter
SLACK = 8  # extra results asked for, in case an ingest added versions since `hidden` was counted


POINTER = "CURRENT"  # id of the pointer record in <prefix>-meta


def number_of(generation: str) -> int:
    """The generation number in a name like gen-000007-3fa9c2."""
    return int(generation[4:10])


def record_id(chunk_id: str, number: int) -> str:
    """The id of the version of `chunk_id` written by generation `number`."""
    return f"{chunk_id}@{number}"


def chunk_of(record: str) -> str:
    """The chunk id of a record id (chunk ids may contain '@': the number is after the last)."""
    return record.rsplit("@", 1)[0]


def holds(metadata: dict[str, Any] | None, number: int) -> bool:
    """Whether generation `number` holds the record with this metadata."""
    return bool(metadata) and int(metadata["born"]) <= number < int(metadata["died"])  # type: ignore[index]


def where_held(number: int) -> dict[str, Any]:
    """The Chroma filter for the records of generation `number`."""
    return {"$and": [{"born": {"$lte": number}}, {"died": {"$gt": number}}]}


def pages(source: Any, include: list[str], size: int = PAGE) -> Iterator[dict[str, Any]]:
    """`get` results of a collection or a view, `size` records at a time."""
    offset = 0
    while True:
        got = source.get(include=include, limit=size, offset=offset)
        if got["ids"]:
            yield got
        if len(got["ids"]) < size:  # the last page: no request for an empty one
            return
        offset += len(got["ids"])


class GenerationView:
    """Generation `number` of a versioned collection; `number=None` is a whole collection of the
    older layout (one collection per generation), passed through unchanged."""

    def __init__(self, collection: Any, number: int | None) -> None:
        self.collection = collection
        self.number = number
        self.hidden = 0  # records of the collection this generation does not hold (an estimate)
        # chunk id -> the record this generation holds, once known (`hold`): queries then
        # recognise its records by id instead of fetching metadata (51 -> 9 ms at 20k, measured)
        self.held: dict[str, str] | None = None

    def hold(self, records: list[str]) -> None:
        """Remember the generation's record ids (from `records()`), and how many it hides."""
        self.held = {chunk_of(r): r for r in records}
        self.hidden = max(0, self.collection.count() - len(records))

    def _holds(self, got: Any, j: int, nested: bool) -> bool:
        """Whether row j of a result (whose include had metadatas unless `held` is known) is a
        record of this generation."""
        assert self.number is not None
        if self.held is not None:
            record = got["ids"][0][j] if nested else got["ids"][j]
            return self.held.get(chunk_of(record)) == record
        return holds(got["metadatas"][0][j] if nested else got["metadatas"][j], self.number)

    def query(
        self, query_embeddings: list[list[float]], n_results: int, include: Sequence[str] = ()
    ) -> dict[str, Any]:
        """The n_results nearest records of this generation, ids as chunk ids."""
        if self.number is None:
            return dict(self.collection.query(
                query_embeddings=query_embeddings, n_results=n_results, include=list(include)
            ))
        if self.hidden <= MAX_OVERFETCH:
            asked = n_results + self.hidden + SLACK
            got = self.collection.query(
                query_embeddings=query_embeddings, n_results=asked,
                include=[*include, *(["metadatas"] if self.held is None else [])],
            )
            keep = [j for j in range(len(got["ids"][0])) if self._holds(got, j, nested=True)]
            if len(keep) >= n_results or len(got["ids"][0]) < asked:  # exact: see module doc
                return _pick(got, keep[:n_results], include, nested=True)
        got = self.collection.query(
            query_embeddings=query_embeddings, n_results=n_results,
            where=where_held(self.number), include=list(include),
        )
        return _pick(got, list(range(len(got["ids"][0]))), include, nested=True)

    def get(
        self, ids: Sequence[str] | None = None, include: Sequence[str] = (),
        limit: int | None = None, offset: int | None = None,
    ) -> dict[str, Any]:
        """Records of this generation (all, a page, or the given chunk ids), ids as chunk ids."""
        if self.number is None:
            return dict(self.collection.get(
                ids=list(ids) if ids is not None else None, include=list(include),
                limit=limit, offset=offset,
            ))
        if ids is not None and self.held is not None:  # by record id: the fastest get
            records = [r for r in (self.held.get(i) for i in ids) if r is not None]
            got = self.collection.get(ids=records, include=list(include))
            return _pick(got, list(range(len(got["ids"]))), include, nested=False)
        if ids is not None:  # every version of these chunks (a few more), then ours
            got = self.collection.get(
                where={"chunk": {"$in": list(ids)}} if len(ids) > 1 else {"chunk": ids[0]},
                include=[*include, "metadatas"],
            )
            keep = [j for j in range(len(got["ids"])) if self._holds(got, j, nested=False)]
            return _pick(got, keep, include, nested=False)
        got = self.collection.get(
            where=where_held(self.number), include=list(include), limit=limit, offset=offset
        )
        return _pick(got, list(range(len(got["ids"]))), include, nested=False)

    def ids(self) -> list[str]:
        """Every chunk id of this generation."""
        return [chunk_of(r) for r in self.records()]

    def records(self) -> list[str]:
        """Every record id of this generation (get them with `collection.get(ids=...)`)."""
        if self.number is None:
            return [i for got in pages(self.collection, [], ID_PAGE) for i in got["ids"]]
        where = where_held(self.number)
        return [i for got in pages(_Filtered(self.collection, where), [], ID_PAGE)
                for i in got["ids"]]


def _pick(got: Any, keep: list[int], include: Sequence[str], nested: bool) -> dict[str, Any]:
    """The rows `keep` of a Chroma result (one query's lists when `nested`), ids as chunk ids."""
    out: dict[str, Any] = {}
    for key in ("ids", *include):
        rows = got[key][0] if nested else got[key]
        picked = [rows[j] for j in keep]
        if key == "ids":
            picked = [chunk_of(r) for r in picked]
        out[key] = [picked] if nested else picked
    return out


class _Filtered:
    """A collection's `get` with a fixed `where` filter (for `pages`)."""

    def __init__(self, collection: Any, where: dict[str, Any]) -> None:
        self.collection = collection
        self.where = where

    def get(self, **kwargs: Any) -> Any:
        return self.collection.get(where=self.where, **kwargs)
