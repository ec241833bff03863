"""Article-level fusion (a retrieval variant evals/variants.py measures): pure parts."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rag.chunk import Chunk
from rag.retrieve import article_scores


def _chunk(article: str, n: int) -> Chunk:
    return Chunk(f"{article}#top#{n}", article, article, f"{article}.md", (), "", n, 0, 1, 2,
                 "text")


def test_an_article_both_retrievers_like_outranks_one_a_single_chunk_wins() -> None:
    chunks = {c.id: c for c in [_chunk("a", 0), _chunk("a", 1), _chunk("b", 0), _chunk("c", 0)]}
    reader = SimpleNamespace(chunks=chunks)
    # Chunk level: b#0 is first for dense, a's two chunks split the votes (2nd dense, 1st BM25
    # with a different chunk). Article level: "a" is 1st for BM25 and 2nd for dense.
    rankings = {"dense": ["b#top#0", "a#top#0", "c#top#0"],
                "bm25": ["a#top#1", "c#top#0", "b#top#0"]}
    scores = article_scores(reader, rankings, 60, {})
    assert scores["a"] == pytest.approx(1 / 62 + 1 / 61)
    assert scores["a"] > scores["b"] > scores["c"]
    weighted = article_scores(reader, rankings, 60, {"bm25": 0.0})
    assert weighted["b"] > weighted["a"]  # BM25's vote removed: dense order only
