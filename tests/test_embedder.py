"""The ONNX runtime gives the torch model's vectors; the query path never imports torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.embedder import make_embedder
from rag.settings import Settings

ROOT = Path(__file__).parent.parent
TEXTS = [
    "How do I approach a tribal team?",
    "Rotate secrets regularly and never commit them to the repository.",
    "Ünïcödé, emoji 🚀 and CJK 漢字 survive tokenisation.",
    "word " * 600,  # longer than the model's 256-token limit: both runtimes truncate the same way
    "",
]


def _matrix(embedder: object, texts: list[str]) -> np.ndarray:
    return np.asarray(embedder.get_text_embedding_batch(texts), dtype=np.float32)


@pytest.fixture(scope="module")
def runtimes() -> dict[str, object]:
    torch = make_embedder(Settings(embed_runtime="torch"))
    onnx = make_embedder(Settings(embed_runtime="onnx"))
    int8 = make_embedder(Settings(embed_runtime="onnx", embed_int8=True))
    return {"torch": torch, "onnx": onnx, "int8": int8}


@pytest.mark.slow
def test_onnx_is_used_and_matches_torch(runtimes: dict[str, object]) -> None:
    assert type(runtimes["onnx"]).__name__ == "OnnxEmbedder"
    assert type(runtimes["torch"]).__name__ == "TorchEmbedder"
    torch, onnx = _matrix(runtimes["torch"], TEXTS), _matrix(runtimes["onnx"], TEXTS)
    assert onnx.shape == torch.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-4)
    assert float((onnx * torch).sum(axis=1).min()) > 0.9999
    assert float(np.abs(onnx - torch).max()) < 1e-3


@pytest.mark.slow
def test_query_embedding_matches_torch(runtimes: dict[str, object]) -> None:
    question = "What should a code review check first?"
    a = np.asarray(runtimes["onnx"].get_query_embedding(question))
    b = np.asarray(runtimes["torch"].get_query_embedding(question))
    assert float(np.abs(a - b).max()) < 1e-3


@pytest.mark.slow
def test_batch_order_and_batching_do_not_change_vectors(runtimes: dict[str, object]) -> None:
    onnx = runtimes["onnx"]
    together = onnx.encode(TEXTS, batch_size=2)
    alone = np.vstack([onnx.encode([t]) for t in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert onnx.encode([]).shape[0] == 0


@pytest.mark.slow
def test_int8_stays_close_to_fp32(runtimes: dict[str, object]) -> None:
    fp32, int8 = _matrix(runtimes["onnx"], TEXTS[:4]), _matrix(runtimes["int8"], TEXTS[:4])
    cosines = (fp32 * int8).sum(axis=1)
    assert float(cosines.min()) > 0.95
    assert float(np.abs(fp32 - int8).max()) > 1e-6  # it really is a different (quantised) graph


def test_export_is_cached(tmp_path: Path) -> None:
    from rag.embedder import model_path
    from rag.onnx_export import cached_model

    settings = Settings()
    first = cached_model(model_path(settings.embed_model), settings.model_cache_dir)
    stamp = first.stat().st_mtime_ns
    again = cached_model(model_path(settings.embed_model), settings.model_cache_dir)
    assert again == first and again.stat().st_mtime_ns == stamp


def test_token_counts_by_word_equal_whole_text_counts() -> None:
    """The chunker's counter sums cached word counts; every text must count as the tokenizer
    counts it whole: odd whitespace (form feed, NEL: the normaliser deletes them, joining the
    words), no-break and line separators, CJK, accents, ligatures, emoji, words over WordPiece's
    100 characters, and the chunks of the bundled and fixture articles."""
    from tokenizers import Tokenizer

    from ingest.chunker import chunk_article
    from ingest.pipeline import load_articles
    from rag.embedder import count_tokens_factory, model_path

    name = Settings().embed_model
    tokenizer = Tokenizer.from_file(str(model_path(name) / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()

    def whole(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False).ids)

    texts = ["a\x0cb c", "a\x0bb", "A\x85B", "x\x1fy z", "a\u00a0b", "x\u2028y", "中文字符 test",
             "naïve café", "\u200bzero width", "emoji 🎉🎉 ok", "a" * 150 + " b",
             "tab\tnew\nline\r\nend", "ﬁne ligature", "", "   "]
    root = Path(__file__).resolve().parent.parent
    for folder in (root / "content", root / "tests" / "fixtures"):
        articles, _ = load_articles(folder)
        for article in articles:
            chunk_article(article, lambda t: texts.append(t) or whole(t))
    count = count_tokens_factory(name)
    assert len(texts) > 50
    assert [count(t) for t in texts] == [whole(t) for t in texts]
