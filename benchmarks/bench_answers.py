"""Answer speed, in process: extractive `rag.ask` warm latency; the local model's time to first
token and total time, idle and with one busy-loop process per core.

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
import subprocess
import sys
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


def busy_loops(count: int) -> list[subprocess.Popen[bytes]]:
    """`count` processes that each keep one core busy (a stand-in for a busy laptop)."""
    code = "while True:\n    pass\n"
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(count)]


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """Stop the busy loops this benchmark started, by pid."""
    for proc in procs:
        proc.kill()
        proc.wait()


def repeated_sentences(text: str) -> int:
    """Sentences of an answer that repeat an earlier one (citations and case aside)."""
    from rag.text import split_sentences, strip_citations, words

    seen: set[str] = set()
    repeats = 0
    for line in text.splitlines():
        for a, b in split_sentences(line):
            key = " ".join(words(strip_citations(line[a:b])))
            if key:  # a lone "[1]" after a sentence's period is no sentence
                repeats += key in seen
                seen.add(key)
    return repeats


def bench_local(settings: Any, qs: list[str], runs: int, busy: int = 0) -> dict[str, Any]:
    """`rag.ask` with the local model: time to first token, total, fallbacks, repeats.

    With `busy`, that many busy-loop processes run alongside (one per core = a loaded laptop).
    """
    from rag.api import ask
    from rag.llm_local import cpu_load, pick_threads

    local = settings.model_copy(update={"llm": "local"})
    ask(qs[0], local)  # loads the model and pays llama.cpp's one-time warm-up
    procs = busy_loops(busy)
    try:
        time.sleep(2 if busy else 0)
        ttft, total, fallbacks, repeats, threads, loads = [], [], 0, 0, [], []
        for i in range(runs):
            loads.append(cpu_load())
            threads.append(pick_threads(local.llm_threads))
            answer = ask(qs[i % len(qs)], local)
            total.append(answer.timings_ms["total"])
            if "first_token" in answer.timings_ms:
                ttft.append(answer.timings_ms["first_token"])
            fallbacks += answer.answerer != "local"
            repeats += repeated_sentences(answer.answer)
    finally:
        stop(procs)
    return {"busy_loops": busy, "runs": runs, "ttft_ms": summary(ttft) if ttft else {},
            "total_ms": summary(total), "fallbacks": fallbacks, "repeated_sentences": repeats,
            "threads_median": statistics.median(threads),
            "cpu_load_median": round(statistics.median(loads), 2), "prompt": local.llm_prompt}


def main() -> None:
    """Print the figures as JSON."""
    from rag.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path)
    parser.add_argument("--content", type=Path, default=ROOT / "content")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--llm-runs", type=int, default=len(questions()))
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
            cores = os.cpu_count() or 1
            result["local_idle"] = bench_local(settings, qs, args.llm_runs)
            result["local_busy"] = bench_local(settings, qs, args.llm_runs, busy=cores)
        result["load_avg_1m_after"] = os.getloadavg()[0]
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
