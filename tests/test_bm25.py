"""BM25: scoring sanity and incremental updates equal to a rebuild."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.index.bm25 import BM25, tokenize

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


@pytest.mark.parametrize(
    "words",
    [("assume", "assumed", "assuming", "assumes"), ("rotate", "rotation", "rotated"),
     ("run", "running", "runs"), ("container", "containers")],
)
def test_plus_stemmer_joins_word_forms(words: tuple[str, ...]) -> None:
    from rag.index.bm25 import stem_plus

    assert len({stem_plus(w) for w in words}) == 1, [stem_plus(w) for w in words]


def test_index_counted_with_another_stemmer_is_recounted_on_load(tmp_path: Path) -> None:
    """An index saved before the default stemmer changed keeps matching new queries (the store
    hands the generation's chunks to `load`, which re-counts them)."""
    from rag.chunk import Chunk
    from rag.index.bm25 import DEFAULT_STEMMER

    chunks = [Chunk(f"a#s#{i}", "a", "T", "a.md", (), "", i, 0, 1, 1, text)
              for i, text in enumerate(["We assumed good intent", "Rotation of secrets"])]
    other = "none" if DEFAULT_STEMMER != "none" else "light"
    BM25.build([c.id for c in chunks], [c.embed_text for c in chunks], other).save(tmp_path)
    assert BM25.load(tmp_path).stemmer == other  # without the chunks: read as saved
    loaded = BM25.load(tmp_path, chunks)
    assert loaded.stemmer == DEFAULT_STEMMER
    fresh = BM25.build([c.id for c in chunks], [c.embed_text for c in chunks])
    for query in ("assuming intent", "rotate secret"):
        assert loaded.search(query, 5) == fresh.search(query, 5)


def test_index_saved_as_scipy_rows_by_earlier_versions_reads_the_same(tmp_path: Path) -> None:
    """Indexes written before the column layout (scipy CSR, `save_npz`) still search alike."""
    from scipy import sparse

    index = BM25.build(list(DOCS), DOCS.values())
    index.save(tmp_path)
    sparse.save_npz(tmp_path / "bm25.npz", index.terms.csr())  # the earlier layout
    assert sparse.load_npz(tmp_path / "bm25.npz").format == "csr"
    old = BM25.load(tmp_path)
    for query in ("team", "reviews fast", "buddy engineers", "war rooms trenches"):
        assert old.search(query, 10) == index.search(query, 10)
    index.save(tmp_path)  # and scipy reads the new layout as the same matrix
    assert (sparse.load_npz(tmp_path / "bm25.npz") != index.terms.csr()).nnz == 0


def test_searching_a_saved_index_does_not_import_scipy(tmp_path: Path) -> None:
    import subprocess
    import sys

    BM25.build(list(DOCS), DOCS.values()).save(tmp_path)
    code = ("import sys; from pathlib import Path; from rag.index.bm25 import BM25; "
            f"hits = BM25.load(Path({str(tmp_path)!r})).search('war rooms', 3); "
            "print(hits[0][0], 'scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parent.parent).stdout.split()
    assert out == ["c", "False"]


LINKED = ("Read the [parental leave policy](https://drive.google.com/file/d/1xYz/view) first, "
          "or <https://www.opm.gov/policy-data-oversight/pay-leave/> and https://calendar.google.com/x.")


def test_link_targets_are_not_indexed_but_link_text_is() -> None:
    """A URL's host and path words are not what a passage is about: a question about Google
    must not find the leave page through its drive.google.com link target."""
    index = BM25.build(["leave", "other"], [LINKED, "Google Docs is our editor"])
    assert [h[0] for h in index.search("google", 5)] == ["other"]
    assert index.search("opm drive calendar", 5) == []
    assert [h[0] for h in index.search("parental leave policy", 5)] == ["leave"]


def test_index_counted_with_link_targets_is_recounted_on_load(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    """An index saved before link targets were dropped (no "text" in bm25.json) is re-counted
    from the generation's chunks when the store loads it."""
    import json

    from rag.chunk import Chunk
    from rag.index import bm25 as bm25_module

    chunk = Chunk("a#s#0", "a", "Leave", "a.md", (), "", 0, 0, 1, 1, LINKED)
    with monkeypatch.context() as patched:  # count as the earlier versions did
        patched.setattr(bm25_module, "link_text", lambda text: text)
        BM25.build([chunk.id], [chunk.embed_text]).save(tmp_path)
    meta = json.loads((tmp_path / "bm25.json").read_text())
    del meta["text"]
    (tmp_path / "bm25.json").write_text(json.dumps(meta))
    assert BM25.load(tmp_path).search("google", 5)  # as saved, without the chunks
    assert BM25.load(tmp_path, [chunk]).search("google", 5) == []


def test_ingest_with_nothing_changed_saves_an_outdated_bm25_counted_anew(settings) -> None:  # noqa: ANN001
    """An index whose BM25 was counted the old way is re-counted at every load; the next ingest
    (no article changed) writes a generation with it counted anew, without re-embedding."""
    import json

    from ingest.pipeline import run

    run(settings)
    index = settings.index_path
    first = (index / "CURRENT").read_text().strip()
    meta_path = index / first / "bm25.json"
    meta = json.loads(meta_path.read_text())
    del meta["text"]  # as saved before link targets were dropped
    meta_path.write_text(json.dumps(meta))
    report = run(settings)
    second = (index / "CURRENT").read_text().strip()
    assert second != first and report.unchanged == report.articles and report.embedded == 0
    assert not BM25.outdated(index / second)
    assert run(settings).generation == second  # up to date now: nothing is written
