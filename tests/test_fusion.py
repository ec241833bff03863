"""Fast tier: fusion, merging of adjacent chunks and the per-article limit of `rag.retrieve`.

The fusion functions are pure; merging and limits run on a real index (real chunker, store and
BM25) built with the model-free hashed embedder, queried with BM25 only so that the ranking is
plain to see from the text.
"""

from __future__ import annotations

import pytest

from rag.retrieve import convex, retrieve, rrf
from rag.settings import Settings


def test_rrf_sums_weighted_reciprocal_ranks() -> None:
    fused = rrf({"dense": ["a", "b"], "bm25": ["b", "c"]}, k=10, weights={"bm25": 2.0})
    assert fused["a"] == pytest.approx(1 / 11)
    assert fused["b"] == pytest.approx(1 / 12 + 2 / 11)
    assert fused["c"] == pytest.approx(2 / 12)
    assert max(fused, key=fused.__getitem__) == "b"  # found by both beats first in one


def test_convex_keeps_the_distance_between_scores() -> None:
    # BM25 ranks "far" first by a wide margin; dense barely prefers "near". RRF would tie them.
    scored = {"dense": [("near", 0.60), ("far", 0.59), ("low", 0.10)],
              "bm25": [("far", 12.0), ("near", 1.0), ("low", 0.5)]}
    fused = convex(scored)
    assert fused["far"] > fused["near"] > fused["low"]
    assert fused["low"] == pytest.approx(0.0)  # last in both rankings
    tie = rrf({name: [d for d, _ in hits] for name, hits in scored.items()}, k=60)
    assert tie["far"] == pytest.approx(tie["near"])


def test_convex_weights_and_documents_missing_from_a_ranking() -> None:
    scored = {"dense": [("a", 0.9), ("b", 0.1)], "bm25": [("b", 4.0), ("c", 2.0)]}
    fused = convex(scored, {"bm25": 3.0})
    assert fused["a"] == pytest.approx(0.25)  # dense share 1/4, top of dense, absent from bm25
    assert fused["b"] == pytest.approx(0.75)  # bm25 share 3/4, top of bm25, bottom of dense
    assert fused["c"] == pytest.approx(0.0)
    assert convex({"dense": [], "bm25": [("x", 1.0), ("y", 0.5)]})["x"] == pytest.approx(0.5)


def test_convex_counts_a_lone_hit_as_the_best() -> None:
    # One chunk shares a rare term with the question: BM25's only hit must count, not get 0.
    fused = convex({"dense": [("a", 0.5), ("b", 0.4)], "bm25": [("b", 7.3)]})
    assert fused["b"] == pytest.approx(0.5) and fused["a"] == pytest.approx(0.5)


SECTION = "\n\n".join(
    f"Paragraph {n} about the zebra migration, with enough words of its own to fill a chunk "
    f"of its section: {'stripes grazing savannah water crossing herd ' * 6}step {n}."
    for n in range(6)
)


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    from ingest import run

    root = tmp_path_factory.mktemp("fusion")
    content = root / "content"
    content.mkdir()
    (content / "zebras.md").write_text(f"# Zebras\n\n## Migration\n\n{SECTION}\n\n"
                                       f"## Feeding\n\nZebra feeding is grass.\n\n"
                                       f"## Foals\n\nA zebra foal walks within an hour.\n")
    (content / "lions.md").write_text("# Lions\n\n## Hunting\n\nLions hunt the zebra at dusk.\n")
    settings = Settings(content_dir=content, index_dir=root / "index", embed_runtime="hashed",
                        chunk_tokens=64, chunk_overlap=0)  # type: ignore[arg-type]
    run(settings)
    return settings


def _passages(settings: Settings, **update: object) -> list:
    from rag.index import load_index

    settings = settings.model_copy(update=update)
    return retrieve(load_index(settings), "zebra", None, settings, mode="bm25")


def test_adjacent_chunks_of_one_section_merge_into_one_passage(index: Settings) -> None:
    passages = _passages(index, top_k=5, max_per_article=3)
    migration = [p for p in passages if p.first.heading.endswith("Migration")]
    assert len(migration) == 1 and len(migration[0].chunks) > 1
    positions = [c.position for c in migration[0].chunks]
    assert positions == sorted(positions)
    assert positions == list(range(positions[0], positions[0] + len(positions)))  # contiguous
    ids = [cid for p in passages for cid in p.chunk_ids]
    assert len(ids) == len(set(ids))  # no chunk shown twice


def test_per_article_limit_and_k(index: Settings) -> None:
    one = _passages(index, top_k=5, max_per_article=1)
    articles = [p.first.article_id for p in one]
    assert len(articles) == len(set(articles)) == 2  # zebras once, lions once
    assert len(_passages(index, top_k=1, max_per_article=3)) == 1
    three = _passages(index, top_k=5, max_per_article=3)
    zebra_passages = [p for p in three if p.first.article_id.startswith("zebras")]
    assert 1 < len(zebra_passages) <= 3


def test_the_fixture_section_really_spans_several_chunks(index: Settings) -> None:
    from rag.index import load_index

    chunks = [c for c in load_index(index).chunks.values() if c.heading.endswith("Migration")]
    assert len(chunks) >= 3, "the merge test needs a section of several chunks"
