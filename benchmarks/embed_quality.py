"""Dev retrieval quality per embedding runtime, on the eval indexes (issue 18, item 2).

For each dev suite: nDCG@10 / hit@1 (dense, BM25, hybrid) from `evals.runner.evaluate_retrieval`
(what `playbook eval` reports) with the questions embedded by the runtime under test, on an
index whose vectors.npy that runtime made. `--reembed` rewrites a copy's vectors.npy with the
runtime's vectors of the same chunks (exact dense search reads only that file; Chroma keeps
the old ones and is not queried), which avoids a full re-ingest per runtime.

    python -m benchmarks.embed_quality --suite cwe-dev --cache .playbook-eval --runtime onnx
    python -m benchmarks.embed_quality --suite cwe-dev --cache DIR --runtime onnx-int8 --reembed
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from evals.suites import DEFAULT_CORPORA, resolve, suite_settings, with_questions

RUNTIMES = {"torch": ("torch", False), "onnx": ("onnx", False), "onnx-int8": ("onnx", True)}


def reembed(settings: Any) -> float:
    """Rewrite the live generation's vectors.npy (and manifest int8 flag) with `settings`'
    embedder; returns the seconds spent embedding."""
    from rag.embedder import make_embedder
    from rag.index.folders import current_generation, read_chunks
    from rag.index.vectors import save

    folder = current_generation(settings.index_path)
    assert folder is not None, settings.index_path
    texts = [c.embed_text for c in read_chunks(folder)]
    started = time.perf_counter()
    matrix = make_embedder(settings).encode(texts)
    seconds = time.perf_counter() - started
    save(folder, matrix)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["embed_int8"] = settings.embed_runtime == "onnx" and settings.embed_int8
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return seconds


def main(argv: list[str] | None = None) -> None:
    from evals.runner import evaluate_retrieval, summarize_retrieval
    from rag.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", required=True)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--runtime", choices=list(RUNTIMES), required=True)
    parser.add_argument("--reembed", action="store_true")
    args = parser.parse_args(argv)
    name, int8 = RUNTIMES[args.runtime]
    base = Settings.model_validate({"embed_runtime": name, "embed_int8": int8})
    out: dict[str, Any] = {"runtime": args.runtime, "suites": {}}
    for suite in resolve(args.suite, DEFAULT_CORPORA):
        loaded = with_questions(suite)
        settings = suite_settings(loaded, base, args.cache)
        row: dict[str, Any] = {}
        if args.reembed:
            row["embed_seconds"] = round(reembed(settings), 1)
        records = evaluate_retrieval(loaded.questions, settings, loaded.key)
        summary = summarize_retrieval(records)
        row |= {mode: {k: round(100 * float(summary[mode][k]), 2) for k in ("ndcg@10", "hit@1")}
                for mode in ("dense", "bm25", "hybrid")}
        out["suites"][loaded.name] = row
    print(json.dumps(out))


if __name__ == "__main__":
    main()
