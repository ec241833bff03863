"""Retrieval latency (dense, BM25, hybrid) and index size at 1k, 10k and 100k chunks.

Indexes are built from a seeded synthetic playbook (benchmarks/synthetic.py) by `ingest.run`
in a fresh process (its wall time and peak RSS are recorded). Sizes up to --real-max are
embedded for real; larger ones get seeded random unit vectors in place of the model (the
pipeline's `make_embedder` is swapped in that child process only, and the figures are labelled
"random vectors"): chunking, BM25 (real texts), Chroma writes and the commit are the real code,
and the 512 longest texts still go through the real model, so the peak RSS includes its buffers.
Latency = `rag.retrieve.retrieve` per question (fusion, merging and passage scoring included),
query embedding timed separately; p50/p95 over the cwe-playbook questions after a warm-up.

    python -m benchmarks.bench_retrieval                      # 1k, 10k (real), 100k (random)
    python -m benchmarks.bench_retrieval --sizes 1000 --quick --no-update
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.common import (
    PYTHON,
    ROOT,
    Row,
    dir_size_mb,
    emit,
    median,
    percentile,
    run_child_peak_rss,
    status,
    timed,
)

CHUNKS_PER_ARTICLE = 7.6  # measured on the synthetic corpus with the default chunk settings
MODES = ("dense", "bm25", "hybrid")
REAL_TEXTS = 512  # texts the real model embeds in a "random vectors" build (see RandomEmbedder)
TARGETS = {(10000, "hybrid"): 30.0, (100000, "hybrid"): 100.0}  # p50 ms


class RandomEmbedder:
    """Seeded random unit vectors in place of the model (for index sizes CPU cannot embed).

    The first `real_texts` texts the pipeline embeds go through the real model: the pipeline
    embeds the longest texts first, so they set the model's memory high-water mark (ONNX
    Runtime's buffers for the widest batches) and the peak RSS measured is that of a real ingest.
    """

    def __init__(self, real: Any = None, real_texts: int = 0, dim: int = 384,
                 seed: int = 7) -> None:
        import numpy as np

        self._rng = np.random.default_rng(seed)
        self._dim = dim
        self._real, self._left = real, real_texts

    def encode(self, texts: list[str]) -> Any:
        """Unit float32 rows, one per text (what the pipeline calls on an ONNX embedder)."""
        import numpy as np

        real = min(self._left, len(texts)) if self._real is not None else 0
        self._left -= real
        matrix = self._rng.standard_normal((len(texts) - real, self._dim)).astype(np.float32)
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
        if real:  # the pipeline hands texts over longest first: the first `real` of them
            matrix = np.vstack([np.asarray(self._real.encode(texts[:real]), np.float32), matrix])
        return matrix


def build(content: Path, index: Path, articles: int, seed: int, random_vectors: bool,
          real_texts: int = REAL_TEXTS) -> None:
    """Child process: write the corpus, then ingest it (prints the ingest report as JSON)."""
    from benchmarks.synthetic import write_corpus
    from ingest import pipeline
    from rag.settings import Settings

    if not content.exists():
        write_corpus(content, articles, seed=seed)
    settings = Settings(content_dir=content, index_dir=index)
    if random_vectors:  # for the chunks and for the sentence table (ingest/sentences.py)
        import rag.embedder

        fake = RandomEmbedder(pipeline.make_embedder(settings), real_texts)
        pipeline.make_embedder = rag.embedder.make_embedder = lambda _: fake  # type: ignore[assignment,return-value]
    report = pipeline.run(settings)
    print(json.dumps({"chunks": report.chunks, "seconds": report.seconds}))


def latencies(index: Path, questions: list[str], warmup: int = 5) -> dict[str, Any]:
    """p50/p95 retrieval latency per mode, plus query-embedding time and the first query."""
    from rag.embedder import make_embedder
    from rag.index import load_index
    from rag.retrieve import retrieve
    from rag.settings import Settings

    settings = Settings(index_dir=index)
    embedder = make_embedder(settings)
    load_s, reader = timed(lambda: load_index(settings))
    embed_ms, vectors = [], []
    for q in questions:
        seconds, vector = timed(partial(embedder.get_query_embedding, q))
        embed_ms.append(1000 * seconds)
        vectors.append(vector)
    first_ms = 1000 * timed(lambda: retrieve(reader, questions[0], vectors[0], settings,
                                             mode="hybrid"))[0]
    out: dict[str, Any] = {"load_index_ms": round(1000 * load_s, 1),
                           "first_query_ms": round(first_ms, 1),
                           "embed_query_p50_ms": round(median(embed_ms), 2)}
    for mode in MODES:
        for q, v in list(zip(questions, vectors, strict=True))[:warmup]:
            retrieve(reader, q, v, settings, mode=mode)
        times = [1000 * timed(partial(retrieve, reader, q, v, settings, mode=mode))[0]
                 for q, v in zip(questions, vectors, strict=True)]
        out[mode] = {"p50_ms": round(median(times), 2), "p95_ms": round(percentile(times, 95), 2)}
    return out


def questions(limit: int) -> list[str]:
    """Realistic questions: the cwe-playbook and playbook evaluation questions."""
    found = []
    for name in ("cwe-playbook.jsonl", "playbook.jsonl"):
        path = ROOT / "evals" / "datasets" / name
        found += [json.loads(line)["question"] for line in path.read_text().splitlines() if line]
    return found[:limit]


def measure(size: int, work: Path, real_max: int, seed: int, qs: list[str],
            real_texts: int = REAL_TEXTS) -> dict[str, Any]:
    """Build one index in a child process, then time queries against it."""
    articles = max(2, math.ceil(size / CHUNKS_PER_ARTICLE))
    content, index = work / f"content-{size}", work / f"index-{size}"
    shutil.rmtree(index, ignore_errors=True)
    random_vectors = size > real_max
    argv = [PYTHON, "-m", "benchmarks.bench_retrieval", "build", "--content", str(content),
            "--index", str(index), "--articles", str(articles), "--seed", str(seed),
            "--real-texts", str(real_texts)]
    wall, rss, out = run_child_peak_rss(argv + (["--random"] if random_vectors else []))
    report = json.loads(out.strip().splitlines()[-1])
    from rag.index.folders import current_generation

    folder = current_generation(index)
    assert folder is not None
    size_mb = dir_size_mb(folder)
    return {"size": size, "chunks": report["chunks"], "vectors": "random" if random_vectors
            else "MiniLM", "build_wall_s": round(wall, 1), "ingest_s": report["seconds"],
            "ingest_peak_rss_mb": round(rss, 1), "index_mb": round(size_mb, 1),
            "index_mb_per_1k": round(1000 * size_mb / report["chunks"], 2),
            **latencies(index, qs)}


def plot(results: list[dict[str, Any]], target: Path) -> None:
    """Query latency and index size against chunk count (log-log)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    chunks = [r["chunks"] for r in results]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for mode in MODES:
        left.plot(chunks, [r[mode]["p50_ms"] for r in results], marker="o", label=f"{mode} p50")
        left.plot(chunks, [r[mode]["p95_ms"] for r in results], marker=".", linestyle=":",
                  label=f"{mode} p95")
    left.set(xscale="log", yscale="log", xlabel="chunks", ylabel="ms per query",
             title="Retrieval latency")
    left.legend(fontsize=7)
    right.plot(chunks, [r["index_mb"] for r in results], marker="o")
    right.set(xscale="log", yscale="log", xlabel="chunks", ylabel="MB on disk",
              title="Index size")
    for r in results:
        if r["vectors"] == "random":
            right.annotate("random vectors", (r["chunks"], r["index_mb"]), fontsize=7)
    fig.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=100)


def rows_for(results: list[dict[str, Any]]) -> list[Row]:
    """The BENCHMARKS.md rows."""
    rows = []
    for r in results:
        label = f"{r['chunks']} chunks" + (", random vectors" if r["vectors"] == "random" else "")
        size = r["size"]
        for mode in MODES:
            goal = TARGETS.get((size, mode))
            ok = goal is None or r[mode]["p50_ms"] <= goal
            rows.append(Row(
                f"retrieval latency {mode}, {size // 1000}k",
                f"p50 {r[mode]['p50_ms']} ms, p95 {r[mode]['p95_ms']} ms ({label}; query "
                f"embedding {r['embed_query_p50_ms']} ms extra)",
                f"p50 ≤ {goal:g} ms" if goal else "", status(ok, "see notes") if goal else ""))
        rows.append(Row(f"index size, {size // 1000}k", f"{r['index_mb']} MB = "
                        f"{r['index_mb_per_1k']} MB per 1k chunks ({label})"))
        rows.append(Row(f"ingest peak RSS, {size // 1000}k",
                        f"{r['ingest_peak_rss_mb']} MB; ingest {r['ingest_s']} s ({label})",
                        "≤ 1.5 GB at 100k" if size >= 100000 else "",
                        status(r["ingest_peak_rss_mb"] <= 1536, "see notes")
                        if size >= 100000 else ""))
    return rows


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["build"]:
        p = argparse.ArgumentParser()
        for name in ("--content", "--index"):
            p.add_argument(name, type=Path, required=True)
        p.add_argument("--articles", type=int, required=True)
        p.add_argument("--seed", type=int, default=13)
        p.add_argument("--random", action="store_true")
        p.add_argument("--real-texts", type=int, default=REAL_TEXTS)
        a = p.parse_args(argv[1:])
        build(a.content, a.index, a.articles, a.seed, a.random, a.real_texts)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--real-max", type=int, default=10000,
                        help="largest size embedded with the real model")
    parser.add_argument("--real-texts", type=int, default=REAL_TEXTS,
                        help="texts a random-vector build still embeds with the real model "
                        "(the longest: they set its memory high-water mark)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="20 questions")
    parser.add_argument("--no-update", action="store_true")
    parser.add_argument("--work", type=Path, help="scratch folder (kept; re-used corpora)")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-retrieval-"))
    qs = questions(20 if args.quick else args.queries)
    results = [measure(int(s), work, args.real_max, args.seed, qs, args.real_texts)
               for s in args.sizes.split(",")]
    if not args.no_update:
        plot(results, ROOT / "docs" / "benchmarks" / "retrieval-scale.png")
    emit("retrieval", {"results": results}, rows_for(results), not args.no_update)
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
