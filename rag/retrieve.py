"""Question -> passages: dense + BM25 candidates, fused, merged per section.

Fusion is by default convex: each retriever's scores min-max normalised over its candidates,
then averaged (BM25 weighted by `bm25_weight`), which keeps how far ahead a strong match is;
reciprocal rank fusion (RRF, `fusion = "rrf"`) sees only ranks. Convex won on cwe-dev, 18f-dev
and SciFact train (evals/variants.py; SciFact hybrid nDCG@10 0.733 vs 0.710). The score shown
with a passage is the cosine similarity between question and passage, one piece of the refusal
evidence.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field

from rag.chunk import Chunk
from rag.index import IndexReader, load_index
from rag.index.bm25 import BM25
from rag.settings import Settings


@dataclass
class Passage:
    """One or more adjacent chunks of a section, as retrieved for a question."""

    chunks: list[Chunk]
    score: float  # cosine similarity of the best chunk to the question
    fused: float  # reciprocal-rank-fusion score (ordering)
    ranks: dict[str, int] = field(default_factory=dict)  # retriever -> best rank (1-based)

    @property
    def first(self) -> Chunk:
        return self.chunks[0]

    @property
    def text(self) -> str:
        return "\n\n".join(c.text for c in self.chunks)

    @property
    def chunk_ids(self) -> list[str]:
        return [c.id for c in self.chunks]


def rrf(
    rankings: dict[str, list[str]], k: int, weights: dict[str, float] | None = None
) -> dict[str, float]:
    """Reciprocal rank fusion: sum over rankings of weight / (k + rank) (weights default 1)."""
    fused: dict[str, float] = {}
    for name, ranking in rankings.items():
        weight = (weights or {}).get(name, 1.0)
        for rank, doc_id in enumerate(ranking, start=1):
            fused[doc_id] = fused.get(doc_id, 0.0) + weight / (k + rank)
    return fused


def convex(
    scored: dict[str, list[tuple[str, float]]], weights: dict[str, float] | None = None
) -> dict[str, float]:
    """Convex score fusion: the weighted mean of each ranking's min-max normalised scores (a
    document a ranking did not return gets 0 from it). Unlike RRF it keeps how far ahead the
    best documents are: a BM25 hit scoring twice the next one counts for more than rank 1."""
    fused: dict[str, float] = {}
    total = sum((weights or {}).get(name, 1.0) for name in scored) or 1.0
    for name, hits in scored.items():
        if not hits:
            continue
        weight = (weights or {}).get(name, 1.0) / total
        values = [v for _, v in hits]
        low, span = min(values), max(values) - min(values)
        for doc_id, value in hits:
            # All hits scoring the same (a lone BM25 match) are this ranking's best, not its worst.
            share = (value - low) / span if span else 1.0
            fused[doc_id] = fused.get(doc_id, 0.0) + weight * share
    return fused


def search(
    reader: IndexReader, query: str, vector: list[float] | None, settings: Settings,
    mode: str | None = None, depth: int | None = None,
) -> list[tuple[str, float, dict[str, int]]]:
    """Ranked chunk ids with fused scores and per-retriever ranks (no merging, no limits).

    `depth` = chunks each retriever proposes (default `settings.candidates`). The rankings are
    fused by `settings.fusion` (reciprocal rank or convex score fusion). With
    `settings.heading_weight`, a BM25 ranking of the chunks' title and heading path joins the
    fusion; with `settings.article_weight`, each chunk's score also gets that share of its
    article's score (see `article_scores`), so an article several retrievers agree on ranks
    above one a single chunk of which matches."""
    mode = mode or settings.retrieval
    depth = depth or settings.candidates
    scored: dict[str, list[tuple[str, float]]] = {}
    if mode in ("dense", "hybrid") and vector is not None:
        scored["dense"] = reader.dense(vector, depth)
    if mode in ("bm25", "hybrid"):
        scored["bm25"] = reader.bm25.search(query, depth)
        if settings.heading_weight > 0:
            scored["heading"] = heading_bm25(reader).search(query, depth)
    rankings = {name: [cid for cid, _ in hits] for name, hits in scored.items()}
    weights = {"bm25": settings.bm25_weight, "heading": settings.heading_weight}
    if settings.fusion == "convex":
        fused = convex(scored, weights)
    else:
        fused = rrf(rankings, settings.rrf_k, weights)
    if settings.article_weight > 0 and len(rankings) > 1:
        articles = article_scores(reader, rankings, settings.rrf_k, weights)
        fused = {cid: score + settings.article_weight * articles[reader.chunks[cid].article_id]
                 for cid, score in fused.items() if cid in reader.chunks}
    positions = {name: {cid: i for i, cid in enumerate(r, start=1)} for name, r in rankings.items()}
    ranks = {cid: {name: pos[cid] for name, pos in positions.items() if cid in pos}
             for cid in fused}
    ordered = sorted(fused, key=lambda cid: (-fused[cid], cid))
    return [(cid, fused[cid], ranks[cid]) for cid in ordered if cid in reader.chunks]


def article_scores(
    reader: IndexReader, rankings: dict[str, list[str]], k: int, weights: dict[str, float]
) -> dict[str, float]:
    """Reciprocal rank fusion at article level: each retriever's chunk ranking collapsed to its
    articles (best chunk first), then fused. Dense may like one chunk of an article and BM25
    another; at chunk level neither gets the other's vote, at article level both count."""
    by_article = {
        name: list(dict.fromkeys(reader.chunks[c].article_id for c in ranking
                                 if c in reader.chunks))
        for name, ranking in rankings.items()
    }
    return rrf(by_article, k, weights)


_headings: weakref.WeakKeyDictionary[IndexReader, BM25] = weakref.WeakKeyDictionary()
_headings_lock = threading.Lock()


def heading_bm25(reader: IndexReader) -> BM25:
    """BM25 over each chunk's title and heading path only (built once per index generation)."""
    with _headings_lock:
        index = _headings.get(reader)
        if index is None:
            chunks = list(reader.chunks.values())
            index = BM25.build([c.id for c in chunks],
                               [" ".join((c.title, *c.heading_path)) for c in chunks])
            _headings[reader] = index
        return index


def retrieve(
    reader: IndexReader, query: str, vector: list[float] | None, settings: Settings,
    k: int | None = None, mode: str | None = None,
) -> list[Passage]:
    """The k best passages: adjacent chunks of one section merged, few passages per article."""
    k = k or settings.top_k
    hits = search(reader, query, vector, settings, mode)
    passages: list[Passage] = []
    per_article: dict[str, int] = {}
    for cid, fused, ranks in hits:
        chunk = reader.chunks[cid]
        neighbour = _adjacent_passage(passages, chunk)
        if neighbour is not None:
            neighbour.chunks = sorted([*neighbour.chunks, chunk], key=lambda c: c.position)
            neighbour.fused += fused
            for name, rank in ranks.items():  # best rank of any of its chunks, per retriever
                neighbour.ranks[name] = min(rank, neighbour.ranks.get(name, rank))
            continue
        if len(passages) >= k or per_article.get(chunk.article_id, 0) >= settings.max_per_article:
            continue
        per_article[chunk.article_id] = per_article.get(chunk.article_id, 0) + 1
        passages.append(Passage([chunk], 0.0, fused, dict(ranks)))
    _score(reader, passages, vector)
    return passages


def _adjacent_passage(passages: list[Passage], chunk: Chunk) -> Passage | None:
    """A passage holding the chunk just before or after this one in the same section."""
    for passage in passages:
        first = passage.first
        same = first.article_id == chunk.article_id and first.section == chunk.section
        positions = [c.position for c in passage.chunks]
        if same and (chunk.position == min(positions) - 1 or chunk.position == max(positions) + 1):
            return passage
    return None


def _score(reader: IndexReader, passages: list[Passage], vector: list[float] | None) -> None:
    if vector is None or not passages:
        return
    ids = [cid for p in passages for cid in p.chunk_ids]
    sims = reader.similarities(vector, ids)
    for passage in passages:
        passage.score = max(sims.get(cid, 0.0) for cid in passage.chunk_ids)


def retrieve_passages(
    query: str, settings: Settings, k: int | None = None, mode: str | None = None
) -> list[Passage]:
    """Passages for a standalone query from the live index (used by ask, refusal and evals)."""
    from rag.embedder import make_embedder

    reader = load_index(settings)
    mode = mode or settings.retrieval
    vector = make_embedder(settings).get_query_embedding(query) if mode != "bm25" else None
    return retrieve(reader, query, vector, settings, k=k, mode=mode)
