"""The citation checker's latency after an LLM's last token, through the generative answerer.

    python -m benchmarks.bench_checker_stream [--answers 20] [--delay 0.05]

A scripted OpenAI-compatible server (tests/scripted_llm.py, its own process) streams answers of
five cited sentences built from the supported rows of evals/datasets/support.jsonl (three
passages each, as benchmarks/bench_checker.py builds them), a chunk of three words every
--delay seconds. `rag.answerers.generative.GenerativeAnswerer("openai").answer` runs on them
with the learned checker (passages' word-piece vectors prefetched while the model writes, the
product's path), the learned checker without the prefetch, and the rules, alternated per answer;
timed from the last streamed token to the returned answer (the checker, plus the extractive
fallback when too few sentences hold). Caches are emptied before every answer. Prints JSON;
updates nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import median, percentile

ROOT = Path(__file__).resolve().parent.parent


def cases(count: int, seed: int = 7) -> list[tuple[str, list[str]]]:
    """(answer of five cited supported sentences, its three passages)."""
    from evals.checker_eval import load_rows

    by_passage: dict[str, list[dict[str, Any]]] = {}
    for row in load_rows():
        if row["label"] == "supported":
            by_passage.setdefault(row["passage"], []).append(row)
    groups = list(by_passage.values())
    rng = random.Random(seed)
    built = []
    for _ in range(count):
        chosen = rng.sample(groups, 3)
        sentences = []
        for i in range(5):
            row = rng.choice(chosen[i % 3])
            sentences.append(row["sentence"].rstrip(".") + f" [{i % 3 + 1}].")
        built.append((" ".join(sentences), [g[0]["passage"] for g in chosen]))
    return built


def main() -> None:
    """Serve, answer, time, print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--answers", type=int, default=20)
    parser.add_argument("--delay", type=float, default=0.05)
    args = parser.parse_args()
    from rag import token_align
    from rag.answerers import generative
    from rag.citations import VECTORS
    from rag.embedder import make_embedder
    from rag.settings import Settings

    built = cases(args.answers)
    script = {"delay": args.delay, "replies": [
        {"when": f"question {i:03d}", "text": text} for i, (text, _) in enumerate(built)]}
    timings: dict[str, list[float]] = {"learned, prefetched": [], "learned, no prefetch": [],
                                       "rules": []}
    fallbacks = dict.fromkeys(timings, 0)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "script.json").write_text(json.dumps(script), encoding="utf-8")
        server = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "scripted_llm.py"),
             str(Path(tmp) / "script.json"), str(Path(tmp) / "log.jsonl")],
            stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            port = int(server.stdout.readline().split()[1])
            base = Settings(llm="openai", openai_base_url=f"http://127.0.0.1:{port}/v1",
                            openai_model="scripted")
            prefetch = generative.prefetch_checker
            embedder = make_embedder(base)
            last = [0.0]  # when the last token arrived

            def arrived(_: str) -> None:
                last[0] = time.perf_counter()

            for i, (_, texts) in enumerate([built[0], *built]):
                passages = [_passage(t, n) for n, t in enumerate(texts)]
                for name in timings:
                    settings = base.model_copy(update={
                        "support_model": "rules" if name == "rules" else "learned"})
                    generative.prefetch_checker = (  # type: ignore[assignment]
                        (lambda p, s: None) if name == "learned, no prefetch" else prefetch)
                    VECTORS.clear()
                    token_align.CLAIMS.clear()
                    token_align.PASSAGES.clear()
                    VECTORS.encode([u for t in texts for u in _units(t)], embedder)
                    answer = generative.GenerativeAnswerer("openai").answer(
                        f"question {max(i - 1, 0):03d}", passages, settings, on_token=arrived)
                    if i:  # the first answer warms the models
                        timings[name].append((time.perf_counter() - last[0]) * 1000)
                        fallbacks[name] += ">" in answer.answerer
            generative.prefetch_checker = prefetch  # type: ignore[assignment]
        finally:
            server.terminate()
            server.wait()
    result = {k: {"median_ms": round(median(v), 2), "p90_ms": round(percentile(v, 90), 2),
                  "n": len(v), "fallbacks": fallbacks[k]} for k, v in timings.items()}
    print(json.dumps({"benchmark": "bench_checker_stream", "delay_s": args.delay, **result},
                     indent=1))


def _passage(text: str, n: int) -> Any:
    """A retrieved passage of one chunk holding `text`."""
    from rag.chunk import Chunk
    from rag.retrieve import Passage

    chunk = Chunk(f"bench#{n}", "bench", "Bench", "bench.md", ("Bench",), "", n, n, 1, 10, text)
    return Passage([chunk], 0.5, 0.5)


def _units(text: str) -> list[str]:
    from rag.text import units

    return [u.text for u in units(text)]


if __name__ == "__main__":
    main()
