"""Article-level fusion (a retrieval variant evals/variants.py measures): pure parts."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rag.chunk import Chunk
from rag.retrieve import article_scores, convex


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


def test_convex_fusion_keeps_score_gaps_that_rank_fusion_loses() -> None:
    # BM25 finds "b" far ahead of everything; dense barely prefers "a". RRF sees two firsts and
    # ties them on rank; convex fusion lets BM25's wide margin win.
    scored = {"dense": [("a", 0.61), ("b", 0.60), ("c", 0.20)],
              "bm25": [("b", 30.0), ("a", 3.0), ("c", 2.0)]}
    fused = convex(scored)
    assert fused["b"] > fused["a"] > fused["c"]
    assert fused["b"] == pytest.approx(0.5 * (0.40 / 0.41) + 0.5)
    assert fused["c"] == 0.0  # last in both lists
    dense_only = convex(scored, {"bm25": 0.0})
    assert dense_only["a"] > dense_only["b"]
    # one hit is its ranking's best (half the weight: the empty BM25 ranking keeps its share)
    assert convex({"dense": [("a", 0.5)], "bm25": []}) == {"a": 0.5}


def test_the_report_names_what_would_replace_the_default() -> None:
    """A variant that beats the RRF baseline is 'kept' (it won the fusion question); one that
    also beats today's default on every dev corpus is named as its replacement."""
    from evals.report import variants_section

    def cells(*ndcg: float) -> dict[str, dict[str, float]]:
        return {c: {"ndcg@10": v, "hit@3": 1.0} for c, v in zip(("x-dev", "y-dev"), ndcg,
                                                                  strict=True)}

    data = {"choose_on": ["x-dev", "y-dev"], "report_only": [], "kept": ["default", "other"],
            "wins": ["default", "other"], "beats_default": [], "default": "default",
            "variants": {"baseline": {"settings": {}, "corpora": cells(0.5, 0.5)},
                         "default": {"settings": {}, "corpora": cells(0.7, 0.7)},
                         "other": {"settings": {}, "corpora": cells(0.8, 0.6)}}}
    assert "(would replace it): none." in variants_section(data)
    assert "| other | – | 0.800 / 1.000 | 0.600 / 1.000 | yes |" in variants_section(data)
    data["beats_default"] = ["other"]
    assert "(would replace it): other." in variants_section(data)


def test_a_variant_must_beat_the_reference_on_every_dev_corpus() -> None:
    from evals.variants import beating

    table = {"base": {"a": {"ndcg@10": 0.5}, "b": {"ndcg@10": 0.5}},
             "both": {"a": {"ndcg@10": 0.6}, "b": {"ndcg@10": 0.6}},
             "one": {"a": {"ndcg@10": 0.9}, "b": {"ndcg@10": 0.5}}}  # a tie is no win
    assert beating(table, "base", list(table), ["a", "b"]) == ["both"]
    assert beating(table, "base", list(table), ["a"]) == ["both", "one"]
    assert beating(table, "both", ["one"], ["a", "b"]) == []
