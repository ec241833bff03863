"""Late chunking (PLAYBOOK_SENTENCE_VECTORS=late, ingest/late.py): sentence vectors pooled from
the chunk's own model pass, the fallback for spans the sequence limit cut, the manifest guard."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import counting_embedder
import numpy as np
import pytest

from ingest.late import pool
from ingest.pipeline import run
from rag.api import ask
from rag.chunk import Chunk
from rag.embedder import RUNTIMES, _load, make_embedder, model_path
from rag.embedder_onnx import TokenStates
from rag.errors import SettingsError
from rag.index.folders import current_generation, read_chunks
from rag.index.manifest import Manifest
from rag.index.sentences import SentenceTable, passage_texts
from rag.settings import Settings
from rag.settings_load import load_settings
from rag.text import units
from rag.vector_cache import VECTORS

QUESTION = "How do I approach a tribal team?"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """late against exact: both keep a sentence table (the default, 'ask', keeps none)."""
    return settings.model_copy(update={"sentence_vectors": "exact"})


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The registry's `onnx` runtime replaced by the counting wrapper around the real model."""
    monkeypatch.setitem(RUNTIMES, "onnx", ("counting_embedder", "load", "onnxruntime", "all"))
    _load.cache_clear()
    VECTORS.clear(tables=True)
    counting_embedder.ENCODED.clear()
    yield counting_embedder.ENCODED
    _load.cache_clear()
    VECTORS.clear(tables=True)


def _late(settings: Settings, **values: object) -> Settings:
    return settings.model_copy(update={"sentence_vectors": "late", **values})


def _table(settings: Settings) -> tuple[list[Chunk], SentenceTable, Manifest]:
    folder = current_generation(settings.index_path)
    assert folder is not None
    table = SentenceTable.open(folder)
    assert table is not None
    return read_chunks(folder), table, Manifest.read(folder)


def _independent(texts: list[str]) -> list[tuple[np.ndarray, list[tuple[int, int]]]]:
    """Per text: the last hidden state of its word pieces and their character spans, from
    torch and the Hugging Face tokenizer (not the ONNX graph nor the `tokenizers` calls of
    rag), truncated at MiniLM's 256 tokens as sentence-transformers does."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    folder = str(model_path("all-MiniLM-L6-v2"))
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).eval()
    out = []
    for text in texts:
        batch = tokenizer(text, truncation=True, max_length=256, return_offsets_mapping=True,
                          return_tensors="pt")
        offsets = batch.pop("offset_mapping")[0].tolist()[1:-1]  # [CLS] and [SEP] dropped
        with torch.no_grad():
            hidden = model(**batch).last_hidden_state[0, 1:-1].numpy()
        out.append((hidden, [tuple(o) for o in offsets]))
    return out


def test_late_vectors_are_the_chunk_pass_pooled_over_each_span(settings: Settings) -> None:
    late = _late(settings)
    report = run(late)
    chunks, table, manifest = _table(late)
    assert manifest.sentence_vectors == "late"
    assert report.sentences == len(table) > 20
    seen = Counter(u.text for c in chunks for u in units(c.text))
    checked, far_from_alone = 0, 0
    for chunk, (hidden, spans) in zip(chunks, _independent([c.embed_text for c in chunks]),
                                      strict=True):
        offset = len(chunk.embed_text) - len(chunk.text)
        for unit in units(chunk.text):
            start, end = offset + unit.start, offset + unit.end
            if seen[unit.text] > 1 or end > spans[-1][1]:  # shared by chunks, or cut
                continue
            inside = [i for i, (a, b) in enumerate(spans) if a < end and b > start]
            mean = hidden[inside].mean(axis=0)
            stored = table.lookup([unit.text])[unit.text]
            assert float(stored @ (mean / np.linalg.norm(mean))) > 0.999, unit.text
            alone = make_embedder(settings).encode([unit.text])[0]
            far_from_alone += float(stored @ alone) < 0.98  # the chunk's context shows
            checked += 1
    assert checked > 20 and far_from_alone > checked // 2


def test_spans_the_sequence_limit_cut_are_encoded_alone(settings: Settings) -> None:
    late = _late(settings, chunk_tokens=600)  # chunks longer than MiniLM's 256 tokens
    report = run(late)
    chunks, table, _ = _table(late)
    model: Any = make_embedder(settings)
    _, states = model.token_states([c.embed_text for c in chunks])
    cut: set[str] = set()
    kept: set[str] = set()
    for chunk, state in zip(chunks, states, strict=True):
        offset = len(chunk.embed_text) - len(chunk.text)
        for unit in units(chunk.text):
            past = state.truncated and offset + unit.end > state.spans[-1][1]
            (cut if past else kept).add(unit.text)
    cut -= kept  # a text seen whole in another chunk is pooled there
    assert cut and report.sentences_fallback == len(cut)
    alone = model.encode(sorted(cut))
    stored = np.stack([table.lookup([t])[t] for t in sorted(cut)])
    assert np.einsum("ij,ij->i", stored, alone).min() > 0.9995


def test_pool_refuses_a_span_past_the_last_piece_the_model_saw() -> None:
    hidden = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]], dtype=np.float32)
    states = TokenStates(hidden, [(0, 4), (5, 9), (10, 14)], truncated=True)
    assert pool(states, 11, 20) is None  # runs past character 14, where the model stopped
    assert pool(states, 15, 16) is None
    both = pool(states, 0, 9)
    assert both is not None and np.allclose(both, np.array([0.5, 1.0]) / np.hypot(0.5, 1.0))
    whole = TokenStates(hidden, [(0, 4), (5, 9), (10, 14)], truncated=False)
    assert pool(whole, 11, 20) is not None  # not cut: the text simply ends there


def test_an_index_is_read_only_with_its_own_kind_of_sentence_vectors(
    settings: Settings, counting: list[str], caplog: pytest.LogCaptureFixture,
) -> None:
    late = _late(settings)
    run(late)
    counting.clear()
    answer = ask(QUESTION, late)  # the matching kind: no passage sentence encoded
    assert not answer.refused and set(counting) == {QUESTION}
    passage = {t for c in answer.citations for t in passage_texts(c.text)}
    VECTORS.clear()
    counting.clear()
    with caplog.at_level(logging.WARNING, logger="rag.index.reader"):
        ask(QUESTION, settings)  # exact settings on a late index: its table is not read
    assert passage <= set(counting)
    assert "PLAYBOOK_SENTENCE_VECTORS=late" in caplog.text and "exact" in caplog.text
    report = run(settings)  # and the next ingest rebuilds it the exact way
    chunks, _, manifest = _table(settings)
    assert manifest.sentence_vectors == "exact" and report.embedded == len(chunks)
    unchanged = run(settings)
    assert unchanged.embedded == 0


def test_a_bad_kind_is_one_sentence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PLAYBOOK_SENTENCE_VECTORS", "early")
    with pytest.raises(SettingsError) as info:
        load_settings(index_dir=tmp_path)
    message = str(info.value)
    assert "PLAYBOOK_SENTENCE_VECTORS" in message and "exact, late" in message
    assert "\n" not in message
