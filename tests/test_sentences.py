"""Sentence vectors kept per generation (rag/index/sentences.py) and used at question time."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import counting_embedder
import numpy as np
import pytest

from ingest.pipeline import run
from rag.api import ask
from rag.embedder import RUNTIMES, _load, make_embedder
from rag.errors import IndexCorruptError
from rag.index.folders import current_generation, read_chunks
from rag.index.sentences import SentenceTable, passage_texts, texts_of
from rag.settings import Settings
from rag.text import units
from rag.vector_cache import VECTORS

ROOT = Path(__file__).parent.parent
QUESTION = "How do I approach a tribal team?"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """This file is about the table, so its indexes keep one (the default since 2026-12-02,
    PLAYBOOK_SENTENCE_VECTORS=ask, keeps none: see the tests at the end)."""
    return settings.model_copy(update={"sentence_vectors": "exact"})


@pytest.fixture(scope="module")
def exact_fixtures(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """tests/fixtures/playbook ingested once with a sentence table."""
    from answers_common import FIXTURES, build_index

    return build_index(tmp_path_factory.mktemp("exact"), FIXTURES / "playbook",
                       sentence_vectors="exact")


@pytest.fixture
def built(settings: Settings, exact_fixtures: Settings) -> Settings:
    """`settings` with a copy of the fixture playbook's index, sentence table included."""
    shutil.copytree(exact_fixtures.index_path, settings.index_path)
    return settings


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The registry's `onnx` runtime replaced by the counting wrapper around the real model."""
    monkeypatch.setitem(RUNTIMES, "onnx", ("counting_embedder", "load", "onnxruntime",
                                           "all"))
    _load.cache_clear()  # the registry caches one instance per configuration
    VECTORS.clear(tables=True)  # other tests' indexes hold the same fixture sentences
    counting_embedder.ENCODED.clear()
    yield counting_embedder.ENCODED
    _load.cache_clear()
    VECTORS.clear(tables=True)


def _table(settings: Settings) -> tuple[Path, SentenceTable]:
    folder = current_generation(settings.index_path)
    assert folder is not None
    table = SentenceTable.open(folder)
    assert table is not None
    return folder, table


def _passage_units(answer_citations: list) -> set[str]:  # type: ignore[type-arg]
    return {t for c in answer_citations for t in passage_texts(c.text)}


def test_every_chunk_sentence_is_stored_with_its_model_vector(settings: Settings) -> None:
    run(settings)
    folder, table = _table(settings)
    texts = texts_of(c.text for c in read_chunks(folder))
    assert len(table) == len(texts) > 20
    assert texts == (folder / "sentences.txt").read_text(encoding="utf-8").split("\n")
    stored = table.lookup(texts)
    fresh = make_embedder(settings).encode(texts)
    cosines = np.einsum("ij,ij->i", np.stack([stored[t] for t in texts]), fresh)
    assert cosines.min() > 0.9995  # float16 storage; the model's own vectors otherwise
    assert table.lookup(["A sentence no chunk of the fixture playbook holds."]) == {}
    assert texts == list(dict.fromkeys(u.text for c in read_chunks(folder) for u in units(c.text)))


def test_answer_encodes_no_passage_sentence_the_index_holds(
    built: Settings, counting: list[str],
) -> None:
    VECTORS.clear()
    counting.clear()
    answer = ask(QUESTION, built)
    assert not answer.refused and answer.citations
    passage = _passage_units(answer.citations)
    assert QUESTION in counting  # the question itself is still encoded
    assert not passage & set(counting), sorted(passage & set(counting))[:3]
    # nor anything else built from the passages (joined paragraphs are not stored)
    assert set(counting) == {QUESTION}, sorted(set(counting) - {QUESTION})[:3]


def test_index_without_sentence_vectors_falls_back_to_the_model(
    built: Settings, counting: list[str], tmp_path: Path,
) -> None:
    """Indexes built before sentence vectors answer the same, encoding the sentences (which
    is also what makes the test above able to fail)."""
    old = built.model_copy(update={"index_dir": tmp_path / "old-index"})
    shutil.copytree(built.index_path, old.index_path)
    folder = current_generation(old.index_path)
    assert folder is not None
    for name in ("sentences.npy", "sentences.txt", "sentences.idx.npy"):
        (folder / name).unlink()
    VECTORS.clear()
    counting.clear()
    without = ask(QUESTION, old)
    assert _passage_units(without.citations) & set(counting)
    with_table = ask(QUESTION, built)
    assert without.answer == with_table.answer and without.refused == with_table.refused


def test_next_ingest_encodes_only_new_sentences_and_upgrades_old_indexes(
    settings: Settings,
) -> None:
    first = run(settings)
    _, table = _table(settings)
    assert first.sentences == len(table)
    article = settings.content_path / "building-trust.md"
    article.write_text(article.read_text() + "\n\nShare the credit for every small win.\n")
    second = run(settings)
    folder, table = _table(settings)
    assert 0 < second.sentences < len(table)
    assert len(table) == len(texts_of(c.text for c in read_chunks(folder)))
    for name in ("sentences.npy", "sentences.txt", "sentences.idx.npy"):  # an older index
        (folder / name).unlink()
    article.write_text(article.read_text() + "\n\nWrite the decision down the same day.\n")
    third = run(settings)
    _, table = _table(settings)
    assert third.sentences == len(table)


@pytest.mark.parametrize("damage", ["truncated texts", "zero vectors", "missing index"])
def test_damaged_sentence_files_give_one_sentence(built: Settings, damage: str) -> None:
    folder, table = _table(built)
    if damage == "truncated texts":
        path = folder / "sentences.txt"
        path.write_bytes(path.read_bytes()[:-40])
    elif damage == "zero vectors":
        matrix = np.load(folder / "sentences.npy", mmap_mode="r+")
        matrix[:] = 0
        matrix.flush()
        del matrix
    else:
        (folder / "sentences.idx.npy").unlink()
    del table
    VECTORS.clear()
    with pytest.raises(IndexCorruptError) as raised:
        ask(QUESTION, built)
    message = str(raised.value)
    assert "damaged" in message and "playbook ingest --rebuild" in message
    assert message.count(". ") == 0 and "\n" not in message
    done = subprocess.run(
        [sys.executable, "-m", "ui.cli", "ask", QUESTION, "--json", "--index",
         str(built.index_dir), "--content", str(built.content_dir)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "--rebuild" in done.stderr


def test_a_damaged_index_does_not_fail_questions_to_a_healthy_one(
    built: Settings, tmp_path: Path,
) -> None:
    """One process, two indexes holding the same sentences (evals switch corpora; a server
    may have opened an old copy): the broken one's table is attached too, and used to fail
    every later question in the process."""
    healthy = built.model_copy(update={"index_dir": tmp_path / "healthy"})
    shutil.copytree(built.index_path, healthy.index_path)
    want = ask(QUESTION, healthy).answer
    folder, _ = _table(built)
    matrix = np.load(folder / "sentences.npy", mmap_mode="r+")
    matrix[:] = 0
    matrix.flush()
    del matrix
    VECTORS.clear()
    with pytest.raises(IndexCorruptError):  # attaches the damaged table and says so
        ask(QUESTION, built)
    VECTORS.clear()
    assert ask(QUESTION, healthy).answer == want
    VECTORS.clear()
    with pytest.raises(IndexCorruptError):  # and its own questions still say it
        ask(QUESTION, built)


def _has_table(settings: Settings) -> bool:
    folder = current_generation(settings.index_path)
    assert folder is not None
    return SentenceTable.open(folder) is not None


def test_ask_keeps_no_table_and_answers_as_the_table_does(
    settings: Settings, counting: list[str],
) -> None:
    """PLAYBOOK_SENTENCE_VECTORS=ask: ingest encodes the chunks only; a question encodes its
    passages' sentences and gets the answer an index with the table gives."""
    asking = settings.model_copy(update={"sentence_vectors": "ask",
                                         "index_dir": settings.index_path.parent / "asking"})
    counting.clear()
    report = run(asking)
    chunks = read_chunks(current_generation(asking.index_path))  # type: ignore[arg-type]
    assert report.sentences == 0 and not _has_table(asking)
    assert len(counting) == len(chunks)  # the chunks, no sentence
    run(settings)
    VECTORS.clear()
    counting.clear()
    without = ask(QUESTION, asking)
    assert _passage_units(without.citations) & set(counting)
    with_table = ask(QUESTION, settings)
    assert (without.answer, without.refused) == (with_table.answer, with_table.refused)


def test_switching_between_ask_and_exact_re_embeds_no_chunk(settings: Settings) -> None:
    asking = settings.model_copy(update={"sentence_vectors": "ask"})
    run(asking)
    assert not _has_table(asking)
    report = run(settings)  # exact: the table is made, the chunks are kept
    _, table = _table(settings)
    assert report.embedded == 0 and report.sentences == len(table) > 0
    article = settings.content_path / "building-trust.md"
    article.write_text(article.read_text() + "\n\nShare the credit for every small win.\n")
    report = run(asking)  # back to ask: only the changed article, and no table carried over
    assert 0 < report.embedded < len(table) and not _has_table(asking)
    assert not ask(QUESTION, asking).refused
