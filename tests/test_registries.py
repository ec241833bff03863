"""The registries (embedding runtimes, stores) and the model-free embedder of the fast tier."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.embedder import RUNTIMES, available_runtimes, make_embedder
from rag.errors import PlaybookError
from rag.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures" / "playbook"


def test_hashed_embedder_is_deterministic_unit_length_and_lexical() -> None:
    embedder = make_embedder(Settings(embed_runtime="hashed"))
    texts = ["Assume positive intent", "assume positive intent", "Rotate the database secrets", ""]
    first, again = embedder.encode(texts), embedder.encode(texts)
    assert first.dtype == np.float32 and first.shape == (4, 384)
    assert np.array_equal(first, again)
    assert np.allclose(np.linalg.norm(first[:3], axis=1), 1.0, atol=1e-5)
    assert not first[3].any()  # no words: a zero vector, never NaN
    assert first[0] @ first[1] == pytest.approx(1.0, abs=1e-5)  # case does not matter
    assert abs(float(first[0] @ first[2])) < 0.5
    assert embedder.get_query_embedding(texts[0]) == pytest.approx(first[0].tolist(), abs=1e-6)


def test_every_runtime_row_names_an_importable_module() -> None:
    import importlib

    for name, (module, factory, _package, _extra) in RUNTIMES.items():
        if name in available_runtimes():
            assert callable(getattr(importlib.import_module(module), factory)), name


def test_runtime_with_missing_package_is_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    from rag import embedder

    monkeypatch.setitem(
        embedder.RUNTIMES, "hashed", ("rag.embedder_hashed", "load", "no_such_package_x", "all")
    )
    embedder._load.cache_clear()
    try:
        with pytest.raises(PlaybookError) as caught:
            make_embedder(Settings(embed_runtime="hashed"))
    finally:
        embedder._load.cache_clear()
    assert "no-such-package-x" in str(caught.value) and "\n" not in str(caught.value)


def test_hashed_runtime_runs_the_whole_pipeline(tmp_path: Path) -> None:
    """Fast tier: ingest + ask through the real stores and retrieval, no model loaded."""
    from ingest import run
    from rag import ask

    settings = Settings(content_dir=FIXTURES, index_dir=tmp_path / "index",
                        embed_runtime="hashed")
    report = run(settings)
    assert report.articles > 0 and report.chunks > 0
    answer = ask("How do I approach a tribal team?", settings)
    assert answer.citations and answer.citations[0].article_id


def test_store_registry_picks_embedded_by_default_and_server_by_url(tmp_path: Path) -> None:
    from rag.index import open_store
    from rag.index.embedded import EmbeddedStore
    from rag.index.server import ServerStore

    assert isinstance(open_store(Settings(index_dir=tmp_path)), EmbeddedStore)
    with pytest.raises(PlaybookError):  # nothing listens there: one sentence, not a traceback
        store = open_store(Settings(index_dir=tmp_path, chroma_url="http://127.0.0.1:9"))
        assert isinstance(store, ServerStore)
        store.current()
