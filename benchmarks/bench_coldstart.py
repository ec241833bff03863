"""Cold start of `playbook ask "..." --json` as a new process, and peak RSS of `playbook serve`.

Cold start: one untimed run (ONNX export cached, files in the page cache), then N timed runs;
wall time median and the children's CPU seconds (steadier than wall time on a busy machine).
The same with PLAYBOOK_DENSE_SEARCH=chroma (HNSW through chromadb instead of the generation's
vector matrix) and with PLAYBOOK_EMBED_RUNTIME=torch shows what each saves. One run under
`python -X importtime` lists the slowest imports. Serve: `playbook serve` on a free port, five
questions through its `/ask` API, then its peak RSS (VmHWM).

    python -m benchmarks.bench_coldstart --index DIR        # an existing index
    python -m benchmarks.bench_coldstart                    # builds one on cwe-playbook first
    python -m benchmarks.bench_coldstart --label playbook --index DIR --content content \
        --question "How do I approach a tribal team?" --target 1.0 --chroma-runs 0 \
        --torch-runs 0 --no-serve                           # issue 18: figures + breakdown

`--label` names the rows (one set per corpus) and adds a breakdown of one cold ask under
cProfile: imports, model session, index load, the model calls (question and any sentence not
in the index's sentence table), retrieval, refusal, answer and citation check.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import CWE, PYTHON, Row, emit, median, status

QUESTION = "How should we propagate a correlation ID between services?"
PLAYBOOK = [PYTHON, "-m", "ui.cli"]


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _ask_argv(index: Path, question: str = QUESTION, content: Path | None = None) -> list[str]:
    extra = ["--content", str(content)] if content else []
    return ["ask", question, "--json", "--index", str(index), *extra]


# (label, "file:function" as pstats names it) of the steps the breakdown reports
STEPS = [
    ("model session (ONNX load)", "embedder.py:_load"),
    ("index load (manifest, chunks, BM25, matrix, sentence table)", "reader.py:load_index"),
    ("model calls (encode)", "vector_cache.py:_embed"),
    ("question embedding", "embedder.py:get_query_embedding"),
    ("retrieval", "retrieve.py:retrieve_passages"),
    ("refusal check", "refusal.py:decide"),
    ("extractive answer", "extractive.py:answer"),
    ("citation check", "citations.py:verify"),
    ("sentence table lookups", "sentences.py:lookup"),
]


def breakdown(index: Path, env: dict[str, str], question: str, content: Path | None,
              work: Path) -> dict[str, Any]:
    """One cold ask under cProfile (cumulative ms per step) and -X importtime (import ms)."""
    import pstats

    profile = work / "ask.prof"
    argv = [PYTHON, "-m", "cProfile", "-o", str(profile), "-m", "ui.cli",
            *_ask_argv(index, question, content)]
    started = time.perf_counter()
    subprocess.run(argv, env=env, capture_output=True, check=True, timeout=600)
    wall = time.perf_counter() - started
    stats: dict[Any, Any] = pstats.Stats(str(profile)).stats  # type: ignore[attr-defined]
    steps: dict[str, float] = {}
    for label, name in STEPS:
        file, func = name.split(":")
        ms = sum(row[3] for (path, _, fn), row in stats.items()
                 if fn == func and path.endswith("/" + file)) * 1000
        steps[label] = round(ms, 1)
    imports = import_profile(index, env, top=8, question=question, content=content)
    return {"wall_s_under_cprofile": round(wall, 3), "steps_ms": steps,
            "imports_ms": imports}


def cold_asks(index: Path, runs: int, env: dict[str, str], question: str = QUESTION,
              content: Path | None = None) -> dict[str, Any]:
    """Wall and CPU seconds of `playbook ask --json` in fresh processes."""
    argv = [*PLAYBOOK, *_ask_argv(index, question, content)]
    subprocess.run(argv, env=env, capture_output=True, check=True, timeout=600)  # warm caches
    walls, cpus = [], []
    for _ in range(runs):
        cpu, started = _cpu_children(), time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True,
                              timeout=600)
        walls.append(time.perf_counter() - started)
        cpus.append(_cpu_children() - cpu)
        answer = json.loads(done.stdout)
        assert answer["citations"], "the cold-start question must get a cited answer"
    return {"wall_s": [round(w, 3) for w in walls], "median_wall_s": round(median(walls), 3),
            "median_cpu_s": round(median(cpus), 3),
            "in_process_total_ms": round(answer["timings_ms"]["total"], 1)}


def import_profile(index: Path, env: dict[str, str], top: int = 8, question: str = QUESTION,
                   content: Path | None = None) -> dict[str, float]:
    """Cumulative import time (ms) of the heaviest top-level packages on the ask path, and
    their sum under "(all)"."""
    argv = [PYTHON, "-X", "importtime", "-m", "ui.cli", *_ask_argv(index, question, content)]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True, timeout=600)
    totals: dict[str, float] = {}
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        field = parts[2].rstrip()
        if len(field) - len(field.lstrip()) <= 1:  # a top-level import (not a dependency's)
            name = field.strip().split(".")[0]
            totals[name] = totals.get(name, 0.0) + int(parts[1]) / 1000
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])[:top]
    return {"(all)": round(sum(totals.values()), 1),
            **{name: round(ms, 1) for name, ms in ranked}}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_memory(index: Path, env: dict[str, str], questions: int = 5) -> dict[str, Any]:
    """Peak RSS of `playbook serve` after start-up, warm-up and a few API questions."""
    port = _free_port()
    env = {**env, "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen([*PLAYBOOK, "serve", "--index", str(index), "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        started = time.perf_counter()
        assert proc.stdout is not None
        for line in proc.stdout:  # the warm-up thread prints "Ready: ..." once loaded
            if line.startswith("Ready") or time.perf_counter() - started > 600:
                break
        ready_s = time.perf_counter() - started
        from gradio_client import Client

        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        latencies = []
        for _ in range(questions):
            t = time.perf_counter()
            client.predict(QUESTION, api_name="/ask")
            latencies.append(time.perf_counter() - t)
        status_text = Path(f"/proc/{proc.pid}/status").read_text()
        peak = int(re.search(r"VmHWM:\s+(\d+) kB", status_text).group(1)) / 1024  # type: ignore[union-attr]
        return {"ready_s": round(ready_s, 2), "peak_rss_mb": round(peak, 1),
                "api_ask_median_ms": round(1000 * median(latencies), 1)}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def ensure_index(args: argparse.Namespace, env: dict[str, str]) -> Path:
    """The index to ask: --index, or a fresh one built on cwe-playbook."""
    if args.index:
        return Path(args.index)
    index = Path(tempfile.mkdtemp(prefix="bench-cold-")) / "index"
    subprocess.run([*PLAYBOOK, "ingest", "--content", str(CWE), "--index", str(index), "--json"],
                   env=env, capture_output=True, check=True, timeout=3600)
    return index


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", help="an existing index (default: build one on cwe-playbook)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--torch-runs", type=int, default=3, help="0 skips the torch comparison")
    parser.add_argument("--chroma-runs", type=int, default=5,
                        help="runs with PLAYBOOK_DENSE_SEARCH=chroma (0 skips the comparison)")
    parser.add_argument("--no-serve", action="store_true")
    parser.add_argument("--no-update", action="store_true")
    parser.add_argument("--label", help="corpus name for the rows; adds the cProfile breakdown")
    parser.add_argument("--question", default=QUESTION)
    parser.add_argument("--content", type=Path, help="content folder of the index (sources)")
    parser.add_argument("--target", type=float, default=3.0, help="median wall target (s)")
    parser.add_argument("--int8", action="store_true",
                        help="ask with PLAYBOOK_EMBED_INT8=true (an index built with int8)")
    args = parser.parse_args(argv)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYBOOK_")}
    env.update({"HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"})
    if "PLAYBOOK_MODEL_CACHE_DIR" in os.environ:
        env["PLAYBOOK_MODEL_CACHE_DIR"] = os.environ["PLAYBOOK_MODEL_CACHE_DIR"]
    if args.int8:
        env["PLAYBOOK_EMBED_INT8"] = "true"
    index = ensure_index(args, env)
    result: dict[str, Any] = {"index": str(index), "question": args.question,
                              "label": args.label, "target_s": args.target}
    result["onnx"] = cold_asks(index, args.runs, env, args.question, args.content)
    if args.label:
        with tempfile.TemporaryDirectory() as work:
            result["breakdown"] = breakdown(index, env, args.question, args.content, Path(work))
        result["imports_ms"] = result["breakdown"]["imports_ms"]
    else:
        result["imports_ms"] = import_profile(index, env)
    if args.chroma_runs:
        result["chroma"] = cold_asks(index, args.chroma_runs,
                                     {**env, "PLAYBOOK_DENSE_SEARCH": "chroma"})
    if args.torch_runs:
        result["torch"] = cold_asks(index, args.torch_runs, {**env,
                                                              "PLAYBOOK_EMBED_RUNTIME": "torch"})
    if not args.no_serve:
        result["serve"] = serve_memory(index, env)
    name = f"coldstart-{args.label}" if args.label else "coldstart"
    emit(name, result, rows_for(result), not args.no_update)
    if not args.index:
        shutil.rmtree(index.parent, ignore_errors=True)


def rows_for(result: dict[str, Any]) -> list[Row]:
    """The BENCHMARKS.md rows."""
    onnx, target = result["onnx"], result.get("target_s", 3.0)
    imports = ", ".join(f"{k} {v:.0f}" for k, v in list(result["imports_ms"].items())[:6])
    label = f", {result['label']}" if result.get("label") else " (onnx query path)"
    steps = result.get("breakdown", {}).get("steps_ms", {})
    parts = "; steps (ms, cProfile): " + ", ".join(f"{k} {v:.0f}" for k, v in steps.items()
                                                   if v) if steps else ""
    rows = [Row(f"cold `playbook ask --json`{label}",
                f"median {onnx['median_wall_s']} s wall, {onnx['median_cpu_s']} s CPU over "
                f"{len(onnx['wall_s'])} runs; in-process {onnx['in_process_total_ms']} ms; "
                f"imports (ms): {imports}{parts}",
                f"≤ {target} s", status(onnx["median_wall_s"] <= target, "see notes"))]
    if "chroma" in result:
        chroma = result["chroma"]
        rows.append(Row("cold `playbook ask --json` (PLAYBOOK_DENSE_SEARCH=chroma)",
                        f"median {chroma['median_wall_s']} s wall, {chroma['median_cpu_s']} s CPU "
                        f"over {len(chroma['wall_s'])} runs", "", "for comparison"))
    if "torch" in result:
        torch = result["torch"]
        rows.append(Row("cold `playbook ask --json` (PLAYBOOK_EMBED_RUNTIME=torch)",
                        f"median {torch['median_wall_s']} s wall, {torch['median_cpu_s']} s CPU "
                        f"over {len(torch['wall_s'])} runs", "", "for comparison"))
    if "serve" in result:
        serve = result["serve"]
        rows.append(Row("`playbook serve` peak RSS",
                        f"{serve['peak_rss_mb']} MB after warm-up + 5 API questions (ready in "
                        f"{serve['ready_s']} s, /ask median {serve['api_ask_median_ms']} ms)"))
    return rows


if __name__ == "__main__":
    main()
