"""BM25: scoring sanity and incremental updates equal to a rebuild."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.bm25 import BM25, tokenize

DOCS = {
    "a": "Assume positive intent when a team seems closed off",
    "b": "Code reviews should be small and fast",
    "c": "Join the war rooms and get in the trenches with the team",
    "d": "Onboarding: pair new engineers with a buddy",
}


def test_tokenize_drops_stop_words_and_stems_plurals() -> None:
    assert tokenize("The reviews are being merged") == ["review", "merg"]


def test_search_ranks_matching_documents_only() -> None:
    index = BM25.build(list(DOCS), DOCS.values())
    hits = index.search("war rooms trenches", k=5)
    assert [h[0] for h in hits] == ["c"]
    assert index.search("zebra", k=5) == []


def test_incremental_update_equals_rebuild(tmp_path: Path) -> None:
    index = BM25.build(["a", "b", "c"], [DOCS["a"], DOCS["b"], DOCS["c"]])
    index.save(tmp_path)
    updated = BM25.load(tmp_path).updated({"b"}, ["d", "b"], [DOCS["d"], "Reviews within a day"])
    rebuilt = BM25.build(["a", "c", "d", "b"], [DOCS["a"], DOCS["c"], DOCS["d"],
                                                "Reviews within a day"])
    for query in ("team", "reviews day", "buddy engineers", "positive intent"):
        got = dict(updated.search(query, 10))
        want = dict(rebuilt.search(query, 10))
        assert got.keys() == want.keys()
        for key in got:
            assert got[key] == pytest.approx(want[key], rel=1e-5)
