"""The embedding model on ONNX Runtime: same MiniLM, no torch at query time.

The graphs come from rag/onnx_export.py. The packaged sentence-transformers weights are exported
once, offline, to an ONNX graph that includes mean pooling and L2 normalisation (so one `run` gives
the final vectors), and cached in `Settings.model_cache_dir` keyed by the model files' sizes and
dates. The export needs torch and the `onnx` package; using the cached graph needs only
`onnxruntime`, `tokenizers` and numpy, which import in ~0.2 s against ~6 s for
sentence-transformers. The traced graph is then fused (one Attention / SkipLayerNormalization /
BiasGelu kernel per layer, `onnxruntime.transformers`); its fp32 vectors match the torch runtime to
~1e-6. The optional int8 graph quantises most of the fused graph's MatMul weights (dynamic, per
channel), keeping the attentions and the four most error-prone MatMuls in fp32, and runs one text
per run: its activations are quantised with one scale per run, so batching would make a vector
depend on its batch-mates. Faster, but it loses dev nDCG@10 (cwe: 1.7 points dense, 3.2 hybrid), so
fp32 is the default (see BENCHMARKS.md for the runtimes side by side).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from rag.embedder import Embedder, max_tokens, model_path, unit_rows
from rag.onnx_export import cached_model, token_graph

log = logging.getLogger(__name__)
# Padded tokens per run (16 texts of 256 tokens): the same throughput as 64 such texts, and ONNX
# Runtime's memory arena (kept: turning it off cost ~20% CPU) stays small: peak RSS embedding
# cwe chunks 0.47 GB against 1.33 GB with 64 texts of 256 tokens a run.
BATCH_TOKENS = 4096


def load(name: str, cache_dir: Path, int8: bool, batch_size: int) -> Embedder:
    """The ONNX runtime on the cached export of the model; the torch runtime when the graph
    cannot be exported here (exporting needs torch + onnx; using the graph does not)."""
    folder = model_path(name)
    try:
        graph = cached_model(folder, cache_dir, int8=int8)
    except ImportError as exc:
        from rag.embedder_torch import load as load_torch

        log.warning("ONNX export unavailable (%s); using the torch runtime", exc)
        return load_torch(name, cache_dir, int8, batch_size)
    return OnnxEmbedder(graph, folder / "tokenizer.json", max_tokens(folder), batch_size,
                        per_row=int8)


class OnnxEmbedder(Embedder):
    """Sentence embeddings from an ONNX graph (unit vectors straight out of the graph)."""

    def __init__(
        self, graph: Path, tokenizer_file: Path, max_tokens: int = 256, batch_size: int = 64,
        threads: int | None = None, batch_tokens: int = BATCH_TOKENS, per_row: bool = False,
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
        self._options = options
        self._token_session: Any = None  # the graph with per-token outputs (`token_vectors`)
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.enable_truncation(max_tokens)
        self._tokenizer.no_padding()
        self.graph = graph
        self.embed_batch_size = batch_size
        self.batch_tokens = batch_tokens
        # The int8 graph quantises activations dynamically, with one scale per run: a text's
        # vector would depend on its batch-mates (1 - cos up to 7e-3). One text per run makes
        # it a function of the text alone (the same vector at ingest and at question time) and
        # costs nothing measurable here (no padding either): see BENCHMARKS.md.
        self.per_row = per_row
        self._lock = threading.Lock()  # one run at a time: the session already uses every core

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Unit vectors (float32, one row per text); batches group texts of similar length."""
        encoded = self._tokenizer.encode_batch(list(texts))
        out: np.ndarray | None = None
        for rows in self._batches([len(e.ids) for e in encoded], batch_size):
            vectors = self._run([encoded[i].ids for i in rows])
            if out is None:
                out = np.empty((len(encoded), vectors.shape[1]), dtype=np.float32)
            out[rows] = vectors
        return out if out is not None else np.zeros((0, 0), dtype=np.float32)

    def _batches(self, lengths: list[int], batch_size: int | None) -> list[list[int]]:
        """Row indices longest first, at most `batch_size` texts and `batch_tokens` padded
        tokens per batch (ONNX Runtime's memory arena grows to the largest batch it ran)."""
        size = 1 if self.per_row else batch_size or self.embed_batch_size
        parts: list[list[int]] = []
        for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
            rows = parts[-1] if parts else []
            width = lengths[rows[0]] if rows else 0  # the longest text of the batch
            if not rows or len(rows) >= size or (len(rows) + 1) * width > self.batch_tokens:
                parts.append(rows := [])
            rows.append(i)
        return parts

    def token_vectors(self, texts: Sequence[str]) -> list[tuple[np.ndarray, list[tuple[int, int]]]]:
        """Per text: unit vectors of its word pieces in context (rows; [CLS] / [SEP] dropped)
        and each piece's character span in the text. Runs the graph of `token_graph` (a
        second session, opened on first use)."""
        return [(unit_rows(states.hidden), states.spans) for states in self.token_states(texts)[1]]

    def token_states(self, texts: Sequence[str]) -> tuple[np.ndarray, list[TokenStates]]:
        """One run of the `token_graph` per batch: the texts' vectors (as `encode` gives them:
        the graph's own pooled output) and, per text, the last hidden state of its word pieces
        (raw, [CLS] / [SEP] dropped), their character spans and whether the model's sequence
        limit cut the text (late chunking pools sentence vectors from these: ingest/late.py)."""
        encoded = self._tokenizer.encode_batch(list(texts))
        pooled: np.ndarray | None = None
        states = [TokenStates(np.zeros((0, 0), np.float32), [], False) for _ in encoded]
        for rows in self._batches([len(e.ids) for e in encoded], None):
            vectors, hidden = self._run_tokens([encoded[i].ids for i in rows])
            if pooled is None:
                pooled = np.empty((len(encoded), vectors.shape[1]), dtype=np.float32)
            pooled[rows] = vectors
            for k, i in enumerate(rows):
                keep = [j for j, special in enumerate(encoded[i].special_tokens_mask)
                        if not special]
                states[i] = TokenStates(hidden[k, keep], [encoded[i].offsets[j] for j in keep],
                                        bool(encoded[i].overflowing))
        return (pooled if pooled is not None else np.zeros((0, 0), np.float32)), states

    def _run_tokens(self, batch: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """(pooled unit vectors, last hidden state) of one padded batch on the token graph."""
        with self._lock:
            if self._token_session is None:
                import onnxruntime as ort

                self._token_session = ort.InferenceSession(
                    str(token_graph(self.graph)), self._options,
                    providers=["CPUExecutionProvider"])
            pooled, hidden = self._token_session.run(None, _feed(batch))[:2]
        return np.asarray(pooled, dtype=np.float32), np.asarray(hidden, dtype=np.float32)

    def _run(self, batch: list[list[int]]) -> np.ndarray:
        feed = _feed(batch)
        with self._lock:
            return np.asarray(self._session.run(None, feed)[0], dtype=np.float32)


class TokenStates(NamedTuple):
    """One text's word pieces from a run of the token graph (`OnnxEmbedder.token_states`)."""

    hidden: np.ndarray  # (pieces, dim) float32, the last hidden state, not normalised
    spans: list[tuple[int, int]]  # each piece's character span in the text
    truncated: bool  # the model's sequence limit cut the text: pieces end before it does


def pool(states: TokenStates, start: int, end: int) -> np.ndarray | None:
    """The unit vector of the word pieces overlapping characters [start, end) of the text (the
    mean of their last hidden state, L2-normalised as the model's own pooling is), None when
    the model did not see the whole span (truncated) or no piece falls inside. A part of a
    text gets a vector from the text's run this way (late chunking's sentences, ingest/late.py;
    a claim's clauses, rag/token_align.py)."""
    if not states.spans or (states.truncated and end > states.spans[-1][1]):
        return None
    inside = [i for i, (a, b) in enumerate(states.spans) if a < end and b > start]
    if not inside:
        return None
    mean = states.hidden[inside].mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return (mean / norm).astype(np.float32) if norm > 1e-9 else None


def _feed(batch: list[list[int]]) -> dict[str, np.ndarray]:
    """The graph's inputs for token-id lists of any lengths (zero-padded, masked)."""
    width = max(len(ids) for ids in batch)
    input_ids = np.zeros((len(batch), width), dtype=np.int64)
    mask = np.zeros((len(batch), width), dtype=np.int64)
    for row, ids in enumerate(batch):
        input_ids[row, : len(ids)] = ids
        mask[row, : len(ids)] = 1
    return {"input_ids": input_ids, "attention_mask": mask,
            "token_type_ids": np.zeros_like(input_ids)}
