"""The generation's vector matrix (vectors.npy): exact dense search, kept in line with Chroma."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ingest.pipeline import run
from rag.api import retrieve_passages
from rag.index import load_index
from rag.index.folders import (
    close_chroma,
    current_generation,
    get_collection,
    open_chroma,
    read_chunks,
)
from rag.index.vectors import VectorMatrix
from rag.settings import Settings

ROOT = Path(__file__).parent.parent
QUESTIONS = ("How do I approach a tribal team?", "What breaks trust between teams?",
             "How should code reviews be done?", "Why write things down?")


def _generation(settings: Settings) -> tuple[list[str], np.ndarray, dict[str, np.ndarray]]:
    """(chunk ids in file order, vectors.npy, Chroma's vector per id) of the live generation."""
    folder = current_generation(settings.index_path)
    assert folder is not None
    ids = [c.id for c in read_chunks(folder)]
    matrix = np.load(folder / "vectors.npy")
    client = open_chroma(folder / "chroma")
    try:
        got = get_collection(client).get(include=["embeddings"])
    finally:
        close_chroma(client)
    return ids, matrix, dict(zip(got["ids"], np.asarray(got["embeddings"]), strict=True))


def _assert_in_line(settings: Settings) -> None:
    ids, matrix, chroma = _generation(settings)
    assert matrix.dtype == np.float32 and matrix.shape == (len(ids), 384)
    assert sorted(chroma) == sorted(ids)
    for row, cid in enumerate(ids):
        np.testing.assert_allclose(matrix[row], chroma[cid], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-4)


def test_matrix_rows_match_chroma_through_incremental_ingests(settings: Settings) -> None:
    run(settings)
    _assert_in_line(settings)
    before = dict(zip(*_generation(settings)[:2], strict=True))
    article = settings.content_path / "building-trust.md"
    article.write_text(article.read_text() + "\n\n## Rituals\n\nCelebrate small wins in public.\n")
    (settings.content_path / "code-reviews.md").unlink()
    report = run(settings)
    assert report.updated == 1 and report.removed == 1
    _assert_in_line(settings)
    ids, matrix, _ = _generation(settings)
    unchanged = [i for i, cid in enumerate(ids) if not cid.startswith("building-trust")]
    assert unchanged, "the fixture playbook has other articles"
    for row in unchanged:
        np.testing.assert_array_equal(matrix[row], before[ids[row]])


@pytest.mark.parametrize("question", QUESTIONS)
def test_exact_search_agrees_with_chroma(built: Settings, question: str) -> None:
    exact = retrieve_passages(question, built, mode="dense")
    hnsw = retrieve_passages(question, built.model_copy(update={"dense_search": "chroma"}),
                             mode="dense")
    assert [p.chunk_ids for p in exact] == [p.chunk_ids for p in hnsw]
    for a, b in zip(exact, hnsw, strict=True):
        assert a.score == pytest.approx(b.score, abs=1e-5)
    assert isinstance(load_index(built).search, VectorMatrix)
    assert not isinstance(
        load_index(built.model_copy(update={"dense_search": "chroma"})).search, VectorMatrix
    )


def test_top_is_exact_and_ordered() -> None:
    rng = np.random.default_rng(3)
    matrix = rng.normal(size=(500, 16)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    ids = [f"c{i}" for i in range(500)]
    query = rng.normal(size=16)
    top = VectorMatrix(ids, matrix).top(query.tolist(), 7)
    brute = sorted(range(500), key=lambda i: -float(matrix[i] @ (query / np.linalg.norm(query))))
    assert [cid for cid, _ in top] == [ids[i] for i in brute[:7]]
    assert VectorMatrix(ids, matrix).top(query.tolist(), 900)[-1][0] == ids[brute[-1]]
    with pytest.raises(ValueError, match="rows"):
        VectorMatrix(ids[:3], matrix)


def test_index_without_matrix_still_answers_and_gets_one_on_next_ingest(
    built: Settings,
) -> None:
    """Generations written before vectors.npy existed: Chroma answers, the next ingest adds it."""
    folder = current_generation(built.index_path)
    assert folder is not None
    (folder / "vectors.npy").unlink()
    assert not isinstance(load_index(built).search, VectorMatrix)
    assert "tribal" in retrieve_passages(QUESTIONS[0], built)[0].text.lower()
    article = built.content_path / "building-trust.md"
    article.write_text(article.read_text() + "\n\nOne more line about trust.\n")
    run(built)
    _assert_in_line(built)
    assert isinstance(load_index(built).search, VectorMatrix)


def test_ask_imports_neither_chromadb_nor_torch(built: Settings) -> None:
    """The cold `playbook ask` path: exact search on the matrix, ONNX for the question."""
    code = (
        "import json, sys\n"
        "from rag.api import ask\n"
        "from rag.settings import Settings\n"
        f"s = Settings(content_dir={str(built.content_dir)!r}, "
        f"index_dir={str(built.index_dir)!r})\n"
        "a = ask('How do I approach a tribal team?', s)\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'chromadb', 'torch', 'sentence_transformers', 'transformers', 'llama_index'})\n"
        "print(json.dumps({'heavy': heavy, 'refused': a.refused, "
        "'article': a.citations[0].article_id}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"heavy": [], "refused": False, "article": "building-trust"}


def test_chroma_mode_readers_two_generations_old_are_closed(settings: Settings) -> None:
    """A long-running server re-ingested many times keeps at most two Chroma clients open."""
    from chromadb.api.shared_system_client import SharedSystemClient

    chroma = settings.model_copy(update={"dense_search": "chroma"})
    article = settings.content_path / "building-trust.md"

    def open_systems() -> list[str]:
        return [p for p in SharedSystemClient._identifier_to_system
                if p.startswith(str(settings.index_path))]

    for round_ in range(4):
        article.write_text(article.read_text() + f"\n\nRound {round_} of edits to this article.\n")
        run(chroma)
        assert retrieve_passages(QUESTIONS[0], chroma, mode="dense")
        assert len(open_systems()) <= 2, open_systems()
    live = current_generation(settings.index_path)
    assert live is not None and str(live / "chroma") in open_systems()
