"""The exported graphs: fused fp32 by default, the int8 setting picks the quantised graph."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.embedder import make_embedder
from rag.settings import Settings

TEXTS = [
    "Rotate secrets regularly and never commit them to the repository.",
    "How do I run a blameless postmortem after an outage?",
    "word " * 300,
]


def _op_types(graph: Path) -> set[str]:
    import onnx

    return {node.op_type for node in onnx.load(str(graph), load_external_data=False).graph.node}


@pytest.fixture(scope="module")
def graphs() -> dict[str, object]:
    return {"fp32": make_embedder(Settings(embed_runtime="onnx")),
            "int8": make_embedder(Settings(embed_runtime="onnx", embed_int8=True))}


def test_default_graph_is_fused(graphs: dict[str, object]) -> None:
    graph = graphs["fp32"].graph  # type: ignore[attr-defined]
    assert graph.name == "model.onnx"
    ops = _op_types(graph)
    assert {"Attention", "SkipLayerNormalization", "EmbedLayerNormalization"} <= ops
    assert "Softmax" not in ops  # every layer's attention went into the fused kernel


def test_int8_setting_picks_the_partly_quantised_graph(graphs: dict[str, object]) -> None:
    import onnx

    graph = graphs["int8"].graph  # type: ignore[attr-defined]
    assert graph.name == "model-int8.onnx"
    nodes = onnx.load(str(graph), load_external_data=False).graph.node
    ops = [n.op_type for n in nodes]
    assert "MatMulInteger" in ops and "Attention" in ops and "QAttention" not in ops
    kept = sorted(n.name for n in nodes if n.op_type == "MatMul")  # the sensitive ones, fp32
    assert kept == [f"/inner/encoder/layer.{i}/{part}/dense/MatMul"
                    for i, part in [(0, "attention/output"), (0, "output"), (1, "output"),
                                    (2, "output")]]
    fp32 = graphs["fp32"].encode(TEXTS)  # type: ignore[attr-defined]
    int8 = graphs["int8"].encode(TEXTS)  # type: ignore[attr-defined]
    cosines = (fp32 * int8).sum(axis=1)
    assert float(cosines.min()) > 0.98 and float(np.abs(fp32 - int8).max()) > 1e-6


def test_token_budget_splits_long_batches_not_short_ones(graphs: dict[str, object]) -> None:
    embedder = graphs["fp32"]
    batches = embedder._batches([256] * 40 + [10] * 100, 64)  # type: ignore[attr-defined]
    sizes = [len(b) for b in batches]
    assert sizes[:2] == [16, 16] and max(sizes) == 64  # 16 x 256 tokens; short texts: 64 a run
    assert sorted(i for b in batches for i in b) == list(range(140))
    alone = np.vstack([embedder.encode([t]) for t in TEXTS])  # type: ignore[attr-defined]
    np.testing.assert_allclose(embedder.encode(TEXTS), alone, atol=1e-5)  # type: ignore[attr-defined]


def test_fusion_check_tells_graphs_apart(graphs: dict[str, object]) -> None:
    """The check that guards the fused export: same vectors or the plain graph is kept."""
    from rag.onnx_export import _same_vectors

    fp32, int8 = graphs["fp32"].graph, graphs["int8"].graph  # type: ignore[attr-defined]
    assert _same_vectors(fp32, fp32) is True
    assert _same_vectors(fp32, int8) is False


def test_int8_vectors_do_not_depend_on_batch_mates(graphs: dict[str, object]) -> None:
    """Dynamic quantisation scales activations per run: the int8 embedder runs one text per
    run, so a text's vector is the same alone, at ingest in a batch, and at question time."""
    import onnxruntime as ort

    embedder = graphs["int8"]
    texts = [*TEXTS, "Short one.", "Ask for an overview of how the system works."]
    batched = embedder.encode(texts)  # type: ignore[attr-defined]
    alone = np.vstack([embedder.encode([t]) for t in texts])  # type: ignore[attr-defined]
    np.testing.assert_array_equal(batched, alone)
    # what the one-text runs avoid: the same graph fed a padded batch gives other vectors
    session = ort.InferenceSession(str(embedder.graph), providers=["CPUExecutionProvider"])  # type: ignore[attr-defined]
    tokenizer = embedder._tokenizer  # type: ignore[attr-defined]
    ids = [e.ids for e in tokenizer.encode_batch(texts[3:])]
    width = max(map(len, ids))
    feed = {"input_ids": np.array([i + [0] * (width - len(i)) for i in ids], np.int64),
            "attention_mask": np.array([[1] * len(i) + [0] * (width - len(i)) for i in ids],
                                       np.int64)}
    feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
    padded = session.run(None, feed)[0]
    assert float(np.abs(padded - alone[3:]).max()) > 1e-4
