"""The embedding model on ONNX Runtime: same MiniLM, no torch at query time.

The packaged sentence-transformers weights are exported once, offline, to an ONNX graph that
includes mean pooling and L2 normalisation (so one `run` gives the final vectors), and cached in
`Settings.model_cache_dir` keyed by the model files' sizes and dates. The export needs torch and
the `onnx` package; using the cached graph needs only `onnxruntime`, `tokenizers` and numpy,
which import in ~0.2 s against ~6 s for sentence-transformers. fp32 vectors match the torch
runtime to ~1e-6; the optional int8 graph (dynamic quantisation of the MatMul weights) is faster
and slightly less exact (see BENCHMARKS.md for both).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

EXPORT_VERSION = 1  # bump when the exported graph changes
OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def cached_model(model_dir: Path, cache_dir: Path, int8: bool = False) -> Path:
    """The ONNX graph for `model_dir`, exporting (and quantising) it on first use."""
    folder = cache_dir.expanduser() / f"onnx-{_fingerprint(model_dir)}"
    fp32 = folder / "model.onnx"
    if not fp32.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        _export(model_dir, fp32)
    if not int8:
        return fp32
    quantised = folder / "model-int8.onnx"
    if not quantised.is_file():
        _quantise(fp32, quantised)
    return quantised


def _fingerprint(model_dir: Path) -> str:
    """A short hash of the model's files (name, size, mtime) and of the export code version."""
    files = sorted(p for p in model_dir.rglob("*") if p.is_file())
    meta = [(str(p.relative_to(model_dir)), p.stat().st_size, int(p.stat().st_mtime))
            for p in files]
    blob = json.dumps([str(model_dir.resolve()), meta, EXPORT_VERSION, OPSET]).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _export(model_dir: Path, target: Path) -> None:
    """Trace the transformer plus pooling to ONNX (torch's TorchScript exporter, no download)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()

    class Pooled(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    dummy = tuple(torch.ones(2, 8, dtype=torch.long) for _ in INPUTS)
    axes = {name: {0: "batch", 1: "tokens"} for name in INPUTS}
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    with torch.no_grad():
        torch.onnx.export(
            Pooled(model), dummy, str(tmp), input_names=list(INPUTS),
            output_names=["embedding"], dynamic_axes={**axes, "embedding": {0: "batch"}},
            opset_version=OPSET, dynamo=False,
        )
    os.replace(tmp, target)  # concurrent exporters: last complete file wins, never a partial one


def _quantise(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation of the MatMul weights, per channel (embeddings stay fp32)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    quantize_dynamic(
        str(source), str(tmp), per_channel=True, weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul"],
    )
    os.replace(tmp, target)


class OnnxEmbedder:
    """Sentence embeddings from an ONNX graph; the methods the project uses of a LlamaIndex
    BaseEmbedding (`get_query_embedding`, `get_text_embedding(_batch)`), plus `encode`."""

    def __init__(
        self, graph: Path, tokenizer_file: Path, max_tokens: int = 256, batch_size: int = 64,
        threads: int | None = None,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or 0  # 0 = one per core
        options.log_severity_level = 3
        # Idle worker threads sleep instead of spinning: on a shared laptop (or CI) spinning
        # burns the cores other work needs and measured slower here under load.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            str(graph), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.enable_truncation(max_tokens)
        self._tokenizer.no_padding()
        self.graph = graph
        self.embed_batch_size = batch_size
        self._lock = threading.Lock()  # one run at a time: the session already uses every core

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Unit vectors (float32, one row per text); batches group texts of similar length."""
        size = batch_size or self.embed_batch_size
        encoded = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i].ids))
        parts = [order[start : start + size] for start in range(0, len(order), size)]
        out: np.ndarray | None = None
        for rows in parts:
            vectors = self._run([encoded[i].ids for i in rows])
            if out is None:
                out = np.empty((len(encoded), vectors.shape[1]), dtype=np.float32)
            out[rows] = vectors
        return out if out is not None else np.zeros((0, 0), dtype=np.float32)

    def _run(self, batch: list[list[int]]) -> np.ndarray:
        width = max(len(ids) for ids in batch)
        input_ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        feed = {"input_ids": input_ids, "attention_mask": mask,
                "token_type_ids": np.zeros_like(input_ids)}
        with self._lock:
            return np.asarray(self._session.run(None, feed)[0], dtype=np.float32)

    def get_query_embedding(self, query: str) -> list[float]:
        """The vector of one question."""
        return self.encode([query])[0].tolist()

    def get_text_embedding(self, text: str) -> list[float]:
        """The vector of one passage."""
        return self.encode([text])[0].tolist()

    def get_text_embedding_batch(
        self, texts: list[str], show_progress: bool = False, **_: Any
    ) -> list[list[float]]:
        """The vectors of many passages (same order as `texts`)."""
        return self.encode(texts).tolist()
