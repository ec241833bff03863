"""Answer speed, in process: extractive `rag.ask` warm latency; local model TTFT and tokens/s.

    python -m benchmarks.bench_answers [--index DIR --content DIR] [--runs 30] [--no-llm]

Without --index, the bundled content/ is ingested into a temporary folder first. Questions are
the in-scope questions of evals/datasets/playbook.jsonl (timing only; nothing is tuned here).
Prints one JSON object. Figures measured while other processes use the CPU are noisy: the
machine's load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parent.parent


def questions() -> list[str]:
    """In-scope playbook questions."""
    rows = [json.loads(line) for line in
            (ROOT / "evals" / "datasets" / "playbook.jsonl").read_text().splitlines() if line]
    return [r["question"] for r in rows if not r["gold"]["refuse"]]


def summary(values: list[float]) -> dict[str, float]:
    """Median, 90th percentile and max, in ms, rounded."""
    ordered = sorted(values)
    return {"median": round(statistics.median(ordered), 1),
            "p90": round(ordered[int(0.9 * (len(ordered) - 1))], 1),
            "max": round(ordered[-1], 1), "n": len(ordered)}


def bench_extractive(settings: Any, qs: list[str], runs: int) -> dict[str, Any]:
    """Warm `rag.ask` timings with the extractive answerer.

    The process is warmed with the first half of the questions (model loaded, index read, probe
    level computed, the corpus's sentence vectors cached); `unseen` times the other half, asked
    for the first time; `repeated` asks all of them again (question vectors cached too).
    """
    from rag.api import ask

    half = len(qs) // 2
    for q in qs[:half]:
        ask(q, settings)
    result: dict[str, Any] = {}
    for name, batch in (("unseen", qs[half:]), ("repeated", [qs[i % len(qs)]
                                                            for i in range(runs)])):
        timings: dict[str, list[float]] = {"total": [], "retrieve": [], "generate": []}
        for q in batch:
            answer = ask(q, settings)
            for key, values in timings.items():
                values.append(answer.timings_ms[key])
        result[name] = {f"{k}_ms": summary(v) for k, v in timings.items()}
    return result


def bench_local(settings: Any, qs: list[str], runs: int) -> dict[str, Any]:
    """Local model: load time, then time to first token and generation speed per question."""
    from rag.answerers.generative import build_messages
    from rag.api import retrieve_passages
    from rag.llm import make_llm

    local = settings.model_copy(update={"llm": "local", "llm_max_tokens": 64, "llm_timeout": 600})
    model = make_llm(local)
    started = time.perf_counter()
    model.load()  # type: ignore[attr-defined]
    load_s = time.perf_counter() - started
    ttft, speed, prompt_tokens = [], [], []
    for i in range(runs + 1):
        q = qs[i % len(qs)]
        started = time.perf_counter()
        messages = build_messages(q, retrieve_passages(q, local), local)
        first, count = 0.0, 0
        for _ in model.stream(messages, local.llm_max_tokens):
            count += 1
            first = first or time.perf_counter()
        done = time.perf_counter()
        if i == 0:
            continue  # the first call pays llama.cpp's one-time warm-up
        ttft.append((first - started) * 1000)
        if count > 1:
            speed.append((count - 1) / max(done - first, 1e-9))
        text = messages[0]["content"] + "\n" + messages[1]["content"]
        prompt_tokens.append(len(model.load().tokenize(text.encode())))  # type: ignore[attr-defined]
    return {"load_s": round(load_s, 2), "ttft_ms": summary(ttft),
            "tokens_per_s": {"median": round(statistics.median(speed), 1)} if speed else {},
            "prompt_tokens_median": statistics.median(prompt_tokens),
            "threads": local.llm_threads}


def main() -> None:
    """Print the figures as JSON."""
    from rag.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path)
    parser.add_argument("--content", type=Path, default=ROOT / "content")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--llm-runs", type=int, default=5)
    parser.add_argument("--no-llm", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        index = args.index or Path(tmp) / "index"
        settings = Settings.model_validate({"content_dir": args.content, "index_dir": index})
        if args.index is None:
            from ingest.pipeline import run

            run(settings)
        qs = questions()
        result: dict[str, Any] = {"cpus": os.cpu_count(), "load_avg_1m": os.getloadavg()[0],
                                  "extractive_ask": bench_extractive(settings, qs, args.runs)}
        if not args.no_llm:
            result["local"] = bench_local(settings, qs, args.llm_runs)
        result["load_avg_1m_after"] = os.getloadavg()[0]
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
