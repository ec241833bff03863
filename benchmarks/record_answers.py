"""Run the answers engineer's benchmarks/bench_answers.py and record its figures in BENCHMARKS.md.

    python -m benchmarks.record_answers [any bench_answers.py arguments]
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from benchmarks.common import PYTHON, ROOT, Row, emit


def rows_for(result: dict[str, Any], command: str) -> list[Row]:
    """Rows for extractive `rag.ask` latency and the local model's TTFT and total, idle/busy."""
    rows = []
    for name, label in (("unseen", "first time asked"), ("repeated", "asked again")):
        t = result["extractive_ask"][name]
        rows.append(Row(f"`rag.ask` extractive, {label}",
                        f"total median {t['total_ms']['median']} ms, p90 {t['total_ms']['p90']} "
                        f"ms (retrieve {t['retrieve_ms']['median']}, answer "
                        f"{t['generate_ms']['median']} ms; n={t['total_ms']['n']})",
                        command=command))
    conditions = (("local_idle", "no busy-loop added"),
                  ("local_busy", "one busy-loop per core added"))
    for key, label in conditions:
        local = result.get(key)
        if not local:
            continue
        rows.append(Row(f"local model (SmolLM2-135M, llama.cpp) via `rag.ask`, {label}",
                        f"first token median {local['ttft_ms'].get('median', '-')} ms, p90 "
                        f"{local['ttft_ms'].get('p90', '-')} ms; total median "
                        f"{local['total_ms']['median']} ms, p90 {local['total_ms']['p90']} ms; "
                        f"{local['fallbacks']}/{local['runs']} fell back to extractive, "
                        f"{local['repeated_sentences']} repeated sentences "
                        f"({local['threads_median']} threads, load {local['cpu_load_median']}, "
                        f"prompt '{local['prompt']}')", command=command))
    return rows


def main() -> None:
    args = sys.argv[1:]
    done = subprocess.run([PYTHON, "-m", "benchmarks.bench_answers", *args], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    (ROOT / "benchmarks" / "results").mkdir(exist_ok=True)
    command = "python -m benchmarks.bench_answers " + " ".join(args)
    emit("answers", {"bench_answers": result}, rows_for(result, command.strip()))


if __name__ == "__main__":
    main()
