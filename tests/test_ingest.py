"""Ingest with real Chroma on temp dirs and the real embedding model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.pipeline import run
from rag.api import retrieve_passages
from rag.errors import ContentError, IndexMissingError
from rag.index.embedded_writer import GenerationWriter
from rag.index.folders import (
    close_chroma,
    current_generation,
    get_collection,
    open_chroma,
)


def _vector_ids(index_dir: Path) -> list[str]:
    folder = current_generation(index_dir)
    assert folder is not None
    client = open_chroma(folder / "chroma")
    try:
        return sorted(get_collection(client).get(include=[])["ids"])
    finally:
        close_chroma(client)


def _chunk_ids(index_dir: Path) -> list[str]:
    folder = current_generation(index_dir)
    assert folder is not None
    lines = (folder / "chunks.jsonl").read_text().splitlines()
    return sorted(json.loads(line)["id"] for line in lines)


def test_first_ingest_indexes_every_article(settings) -> None:  # noqa: ANN001
    report = run(settings)
    assert (report.articles, report.added, report.updated, report.removed) == (3, 3, 0, 0)
    assert report.skipped == [] and report.chunks == report.embedded > 3
    assert _vector_ids(settings.index_path) == _chunk_ids(settings.index_path)
    top = retrieve_passages("How do I approach a tribal team?", settings)[0]
    assert top.first.article_id == "building-trust"


def test_chroma_holds_vectors_and_metadata_and_the_text_once(settings) -> None:  # noqa: ANN001
    """Chroma's records carry each chunk's vector, article, source and position; the text is
    in chunks.jsonl only (Chroma's full-text index of it was two thirds of the write)."""
    run(settings)
    folder = current_generation(settings.index_path)
    assert folder is not None
    chunks = {c["id"]: c for c in map(json.loads, (folder / "chunks.jsonl").read_text()
                                         .splitlines())}
    client = open_chroma(folder / "chroma")
    try:
        got = get_collection(client).get(include=["metadatas", "documents", "embeddings"])
    finally:
        close_chroma(client)
    assert sorted(got["ids"]) == sorted(chunks)
    for cid, meta, doc in zip(got["ids"], got["metadatas"], got["documents"], strict=True):
        chunk = chunks[cid]
        assert meta == {"article_id": chunk["article_id"], "source": chunk["source"],
                        "position": chunk["position"]}
        assert doc is None
    assert len(got["embeddings"][0]) == 384


def test_rerun_on_unchanged_content_embeds_nothing(settings) -> None:  # noqa: ANN001
    first = run(settings)
    again = run(settings)
    assert (again.unchanged, again.added, again.updated, again.embedded) == (3, 0, 0, 0)
    assert again.generation == first.generation  # not even a new generation is written
    assert again.chunks == first.chunks


def test_add_change_delete_are_incremental(settings, content: Path) -> None:  # noqa: ANN001
    run(settings)
    before = _chunk_ids(settings.index_path)
    (content / "new.md").write_text("# Retros\n\nHold one every sprint. Keep it blameless.\n")
    path = content / "teams" / "onboarding.md"
    path.write_text(path.read_text().replace("first week", "first three days"))
    (content / "code-reviews.md").unlink()
    report = run(settings)
    assert (report.added, report.updated, report.removed, report.unchanged) == (1, 1, 1, 1)
    onboarding = [c for c in before if c.startswith("teams/onboarding")]
    assert report.embedded == 1 + len(onboarding)
    after = _chunk_ids(settings.index_path)
    assert not any(c.startswith("code-reviews") for c in after)
    assert any(c.startswith("new#") for c in after)
    assert after == _vector_ids(settings.index_path)  # no duplicates, no leftovers
    passages = retrieve_passages("how soon should a new engineer ship", settings)
    assert "first three days" in passages[0].text


def test_bad_files_are_skipped_with_reasons(settings, content: Path) -> None:  # noqa: ANN001
    (content / "broken.md").write_text("---\nid: [x\n---\ntext\n")
    (content / "latin1.md").write_bytes("caf\xe9 au lait\n".encode("latin-1"))
    (content / "blob.md").write_bytes(b"\x00\x01\x02binary")
    (content / "empty.md").write_text("")
    (content / "dupe.md").write_text("---\nid: building-trust\n---\nsame id\n")
    (content / "notes.txt").write_text("ignored: not Markdown")
    report = run(settings)
    reasons = {s["path"]: s["error"] for s in report.skipped}
    assert set(reasons) == {"broken.md", "latin1.md", "blob.md", "empty.md", "dupe.md"}
    assert "invalid YAML" in reasons["broken.md"]
    assert "UTF-8" in reasons["latin1.md"]
    assert "binary" in reasons["blob.md"]
    assert "empty" in reasons["empty.md"]
    assert "already used by building-trust.md" in reasons["dupe.md"]
    assert report.articles == 3


def test_strict_fails_and_leaves_index_untouched(settings, content: Path) -> None:  # noqa: ANN001
    run(settings)
    generation = current_generation(settings.index_path)
    (content / "teams" / "onboarding.md").write_text("changed\n")
    (content / "broken.md").write_bytes(b"\xff\xfe bad")
    with pytest.raises(ContentError, match="broken.md: is not valid UTF-8"):
        run(settings, strict=True)
    assert current_generation(settings.index_path) == generation


def test_article_turned_bad_keeps_last_good_version(settings, content: Path) -> None:  # noqa: ANN001
    run(settings)
    (content / "code-reviews.md").write_text("---\ntitle: [oops\n---\ntext\n")
    report = run(settings)
    assert report.skipped[0]["path"] == "code-reviews.md"
    assert report.removed == 0 and report.articles == 3
    assert any(c.startswith("code-reviews#") for c in _chunk_ids(settings.index_path))


def test_failure_mid_ingest_leaves_old_index_answering(
    settings, content: Path, monkeypatch  # noqa: ANN001
) -> None:
    run(settings)
    generation = current_generation(settings.index_path)
    before = _chunk_ids(settings.index_path)
    (content / "building-trust.md").write_text("# Replaced\n\nNothing about trust any more.\n")

    def explode(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        raise RuntimeError("disk full")

    monkeypatch.setattr(GenerationWriter, "commit", explode)
    with pytest.raises(RuntimeError):
        run(settings)
    monkeypatch.undo()
    assert current_generation(settings.index_path) == generation
    assert _chunk_ids(settings.index_path) == before
    assert not list(settings.index_path.glob("*.tmp-*"))  # the partial generation is gone
    top = retrieve_passages("How do I approach a tribal team?", settings)[0]
    assert "tactics" in top.text
    report = run(settings)  # and the next run completes exactly
    assert report.updated == 1
    assert _chunk_ids(settings.index_path) == _vector_ids(settings.index_path)


def test_changed_chunk_settings_rebuild_everything(settings) -> None:  # noqa: ANN001
    run(settings)
    smaller = settings.model_copy(update={"chunk_tokens": 64})
    report = run(smaller)
    assert report.embedded == report.chunks and report.added == 3 and report.unchanged == 0


def test_switching_to_int8_vectors_re_embeds_everything(settings) -> None:  # noqa: ANN001
    """int8 vectors differ slightly from fp32 ones: never mix them in one generation."""
    first = run(settings)
    int8 = settings.model_copy(update={"embed_int8": True})
    switched = run(int8)
    assert switched.embedded == switched.chunks == first.chunks
    assert run(int8).embedded == 0
    assert run(settings).embedded == first.chunks


def test_missing_index_is_one_clear_sentence(settings) -> None:  # noqa: ANN001
    with pytest.raises(IndexMissingError, match="run `playbook ingest` first"):
        retrieve_passages("anything", settings)
