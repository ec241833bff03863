"""Citation checker cost: `rag.citations.verify` on answers of five sentences.

    python -m benchmarks.bench_checker [--answers 40] [--no-update]

Answers are built from the labelled sentences of evals/datasets/support.jsonl (supported and
unsupported mixed, each with an [n] citation), checked against three passages of that set, as the
generative answerer does after an LLM has written its draft. Two conditions:

- warm passages: the passages' sentence vectors are already cached (in the answer pipeline the
  prompt builder has just encoded them), so only the answer's sentences and clauses are encoded;
- cold: the vector cache is emptied before every answer (passages never seen before);
- prefetched: warm, and the passages' word-piece vectors (the learned model's word alignment)
  computed beforehand, as the generative answerer does while the LLM writes
  (`rag.support.prefetch_tokens`): the checker's latency after the LLM's last token. Under the
  rules nothing is prefetched (the condition equals warm).

The MiniLM model is loaded before timing. As a yardstick of the machine's load, the same run
times the embedding of one sentence (~7 ms on a quiet machine, see bench_retrieval's "query
embedding"). Prints one JSON object; updates BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

from benchmarks.common import Row, emit, median, percentile, status

TARGET_MS = 20.0


def answers(count: int, seed: int = 7) -> list[tuple[str, list[str]]]:
    """(answer text of five cited sentences, its three passages), from the labelled set."""
    from evals.checker_eval import load_rows

    rows = load_rows()
    by_passage: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_passage.setdefault(row["passage"], []).append(row)
    groups = [g for g in by_passage.values() if len(g) >= 2]
    rng = random.Random(seed)
    built = []
    for _ in range(count):
        chosen = rng.sample(groups, 3)
        passages = [g[0]["passage"] for g in chosen]
        sentences = []
        for i in range(5):
            n = i % 3
            row = rng.choice(chosen[n])
            sentences.append(row["sentence"].rstrip(".") + f" [{n + 1}].")
        built.append((" ".join(sentences), passages))
    return built


def bench(count: int, model: str = "") -> dict[str, Any]:
    """Median / p90 ms per answer, warm, cold and prefetched (`model`: "rules" or "learned"
    instead of the default decision). The word alignment's per-token vectors (learned model)
    are cleared before every answer; only the prefetched condition computes the passages' ones
    before timing."""
    from dataclasses import replace

    from rag import token_align
    from rag.citations import DEFAULTS, VECTORS, default_embedder
    from rag.citations import verify as check
    from rag.support import prefetch_tokens

    limits = replace(DEFAULTS, model=model) if model else DEFAULTS

    def verify(text: str, passages: list[str], embedder: Any = None,
               prefetch: bool = False) -> float:
        token_align.CLAIMS.clear()
        token_align.PASSAGES.clear()
        token_align.RUNS.clear()
        if prefetch and limits.model == "learned":
            prefetch_tokens(passages, embedder)
        started = time.perf_counter()
        check(text, passages, embedder, thresholds=limits)
        return (time.perf_counter() - started) * 1000

    embedder = default_embedder()
    cases = answers(count)
    verify(*cases[0], embedder=embedder)  # load and warm the model
    timings: dict[str, list[float]] = {"warm": [], "cold": [], "prefetched": []}
    for text, passages in cases:
        VECTORS.clear()
        timings["cold"].append(verify(text, passages, embedder))
        VECTORS.clear()
        VECTORS.encode([u for p in passages for u in _units(p)], embedder)
        timings["warm"].append(verify(text, passages, embedder))
        VECTORS.clear()
        VECTORS.encode([u for p in passages for u in _units(p)], embedder)
        timings["prefetched"].append(verify(text, passages, embedder, prefetch=True))
    timings["one_sentence_embedding"] = []  # a yardstick for the machine's load right now
    for i, (text, _) in enumerate(cases):
        VECTORS.clear()
        started = time.perf_counter()
        VECTORS.encode([f"{i} {text[:80]}"], embedder)
        timings["one_sentence_embedding"].append((time.perf_counter() - started) * 1000)
    return {k: {"median_ms": round(median(v), 2), "p90_ms": round(percentile(v, 90), 2),
                "n": len(v)} for k, v in timings.items()}


def _units(passage: str) -> list[str]:
    from rag.text import units

    return [u.text for u in units(passage)]


def main() -> None:
    """Run, print, record."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--answers", type=int, default=40)
    parser.add_argument("--no-update", action="store_true")
    parser.add_argument("--model", choices=("rules", "learned"), default="",
                        help="time this decision instead of the default (implies --no-update)")
    args = parser.parse_args()
    result = bench(args.answers, args.model)
    warm, cold, ahead = result["warm"], result["cold"], result["prefetched"]
    yardstick = result["one_sentence_embedding"]["median_ms"]
    rows = [
        Row("citation checker, answer of 5 sentences (passages warm)",
            f"median {warm['median_ms']} ms, p90 {warm['p90_ms']} ms (n={warm['n']}; one "
            f"sentence embedding {yardstick} ms in the same run)",
            f"≤ {TARGET_MS:g} ms", status(warm["median_ms"] <= TARGET_MS,
                                         f"{warm['median_ms']} ms")),
        Row("citation checker, answer of 5 sentences (passages cold)",
            f"median {cold['median_ms']} ms, p90 {cold['p90_ms']} ms (n={cold['n']})",
            "", "for comparison"),
        Row("citation checker, answer of 5 sentences (passages prefetched during generation)",
            f"median {ahead['median_ms']} ms, p90 {ahead['p90_ms']} ms (n={ahead['n']})",
            "", "latency after the LLM's last token"),
    ]
    emit("bench_checker", result, rows, update=not (args.no_update or args.model))


if __name__ == "__main__":
    main()
