"""Exporting the embedding model to ONNX, once, offline (rag/embedder_onnx.py runs the graphs).

The packaged sentence-transformers weights are traced with mean pooling and L2 normalisation in
the graph, fused with ONNX Runtime's transformer optimiser, optionally partly quantised to int8,
and cached in `Settings.model_cache_dir` keyed by the model files' sizes and dates. `token_graph`
derives a copy with a second output, the last hidden state (per word piece). Exporting needs torch
and the `onnx` package; running the graphs does not.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

EXPORT_VERSION = 3  # bump when the exported graph changes
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
    """Export the model to `target`: traced graph, then ORT's transformer fusions if they apply."""
    plain = target.with_name(f"plain-{os.getpid()}.onnx")
    try:
        _trace(model_dir, plain)
        fused = target.with_name(f"fused-{os.getpid()}.onnx")
        os.replace(fused if _fuse(model_dir, plain, fused) else plain, target)
    finally:  # concurrent exporters: last complete file wins, never a partial one
        for leftover in target.parent.glob(f"*-{os.getpid()}.onnx"):
            leftover.unlink()


def _trace(model_dir: Path, target: Path) -> None:
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
    with torch.no_grad():
        torch.onnx.export(
            Pooled(model), dummy, str(target), input_names=list(INPUTS),
            output_names=["embedding"], dynamic_axes={**axes, "embedding": {0: "batch"}},
            opset_version=OPSET, dynamo=False,
        )


def _fuse(model_dir: Path, source: Path, target: Path) -> bool:
    """Fuse each BERT layer into ORT's Attention, SkipLayerNormalization and BiasGelu kernels.

    ONNX Runtime's own session-time optimiser does not recognise the attention of the traced
    graph; the offline `onnxruntime.transformers` optimiser does. Kept only if every layer's
    attention fused and the fused graph gives the plain graph's vectors (else: False).
    """
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    if config.get("model_type") != "bert":
        return False
    import logging

    from onnxruntime.transformers.optimizer import optimize_model

    logging.getLogger("onnxruntime.transformers").setLevel(logging.ERROR)
    model = optimize_model(str(source), model_type="bert", opt_level=0,
                           num_heads=int(config["num_attention_heads"]),
                           hidden_size=int(config["hidden_size"]))
    if model.get_fused_operator_statistics().get("Attention") != config["num_hidden_layers"]:
        return False
    model.save_model_to_file(str(target))
    return _same_vectors(source, target)


def _same_vectors(plain: Path, fused: Path) -> bool:
    """Both graphs on one padded batch of arbitrary token ids agree to 1e-4."""
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 20000, size=(3, 40), dtype=np.int64)
    mask = np.ones_like(ids)
    mask[1, 25:] = 0
    mask[2, 7:] = 0
    feed = {"input_ids": ids * mask, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    a, b = (ort.InferenceSession(str(g), providers=["CPUExecutionProvider"]).run(None, feed)[0]
            for g in (plain, fused))
    return bool(np.abs(np.asarray(a) - np.asarray(b)).max() < 1e-4)


def _quantise(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation (per-channel weights) of most of the fused graph's MatMuls.

    Stay fp32: the fused attentions (their Q/K/V projections: quantising them too cost 1-2 points
    of nDCG@10 on cwe dev) and the few MatMuls that carry most of the int8 error (see
    `_sensitive_matmuls`)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    names = [n.name for n in onnx.load(str(source), load_external_data=False).graph.node
             if n.op_type == "MatMul"]
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    quantize_dynamic(
        str(source), str(tmp), per_channel=True, weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul"], nodes_to_exclude=_sensitive_matmuls(names),
        extra_options={"DefaultTensorType": 1},  # fused ops' outputs: float (no shape inference)
    )
    os.replace(tmp, target)


def _sensitive_matmuls(names: list[str]) -> list[str]:
    """The first layer's attention output and the first half of the layers' FFN outputs.

    Quantising one MatMul at a time on cwe chunk texts, these gave the largest vector error
    (1 - cosine to fp32 of 1e-3 for layer 0's, 6e-4..9e-4 for layers 1-2's, <= 3.3e-4 for any
    other); they are 13 of the 72 weight-MACs per token of MiniLM-L6 (BENCHMARKS.md)."""
    layers = sorted({int(m.group(1)) for n in names if (m := re.search(r"layer\.(\d+)/", n))})
    first_half = layers[: (len(layers) + 1) // 2]
    wanted = {f"layer.{i}/output/dense/" for i in first_half}
    wanted |= {f"layer.{i}/attention/output/dense/" for i in layers[:1]}
    return [n for n in names if any(w in n for w in wanted)]


def token_graph(graph: Path) -> Path:
    """`graph` with a second output, the transformer's last hidden state (one vector per word
    piece, before mean pooling), derived once beside it (needs the `onnx` package, as the
    export does). The hidden state is the tensor the pooling multiplies by the mask."""
    target = graph.with_name(f"{graph.stem}-tokens.onnx")
    if target.is_file():
        return target
    import onnx

    model = onnx.load(str(graph))
    made = {out: node for node in model.graph.node for out in node.output}
    pooled = next(n for n in model.graph.node if n.op_type == "ReduceSum"
                  and made.get(n.input[0]) is not None and made[n.input[0]].op_type == "Mul")
    hidden = next(i for i in made[pooled.input[0]].input
                  if i in made and made[i].op_type not in ("Cast", "Unsqueeze", "Expand"))
    model.graph.output.append(onnx.helper.make_tensor_value_info(
        hidden, onnx.TensorProto.FLOAT, ["batch", "tokens", "hidden"]))
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    onnx.save(model, str(tmp))
    os.replace(tmp, target)  # concurrent derivations: last complete file wins
    return target
