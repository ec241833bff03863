"""Ingest throughput against the raw embedding model, re-ingest costs, runtimes side by side.

In ONE process, per repeat: time raw `SentenceTransformer.encode` on the exact chunk texts the
ingest embeds (`Chunk.embed_text`), then `ingest.run` on a fresh index with each runtime
(torch, onnx fp32, onnx int8). Ratio = pipeline chunks/s / raw chunks/s, median over repeats.
Then: no-op re-ingest and one-article-changed re-ingest on the same index (BM25 updated in
place, timed against a rebuild from scratch), nDCG@10 on the cwe-playbook dev questions per
runtime, and peak RSS + wall time of `playbook ingest --json` as a new process.

    python -m benchmarks.bench_ingest                    # cwe-playbook, 3 repeats
    python -m benchmarks.bench_ingest --corpus synthetic --articles 140
    python -m benchmarks.bench_ingest --quick --no-update   # smoke run on a tiny corpus
    python -m benchmarks.bench_ingest --corpus 18f --runtimes onnx-int8 --repeats 1 \
        --raw default --only-full --work DIR   # 18f-handbook: the default vs its own model

`--raw default` times the first runtime's own embedder (`make_embedder(...).encode`) on the
chunk texts instead of sentence-transformers: the pipeline's overhead over the model it runs
(chunking, the sentence vectors kept per generation, Chroma and the generation's files).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.common import (
    CWE,
    PYTHON,
    ROOT,
    cpu_timed,
    emit,
    median,
    run_child_peak_rss,
    timed,
)
from benchmarks.ingest_rows import rows_for

# label -> (embed_runtime, embed_int8, sentence_vectors)
RUNTIMES: dict[str, tuple[Any, bool, str]] = {
    "torch": ("torch", False, "exact"), "onnx": ("onnx", False, "exact"),
    "onnx-int8": ("onnx", True, "exact"), "onnx-late": ("onnx", False, "late"),
    "onnx-ask": ("onnx", False, "ask"),
}


def settings_for(content: Path, index: Path, runtime: str, cache: Path | None) -> Any:
    """Settings for one runtime label (RUNTIMES: 'onnx-late' = fp32 ONNX, late chunking;
    'onnx-ask' = fp32 ONNX, no sentence table: questions encode their sentences)."""
    from rag.settings import Settings

    name, int8, kind = RUNTIMES[runtime]
    extra: dict[str, Any] = {"model_cache_dir": cache} if cache else {}
    return Settings(content_dir=content, index_dir=index, embed_runtime=name, embed_int8=int8,
                    sentence_vectors=kind, **extra)


def chunk_texts(settings: Any) -> list[str]:
    """The texts `ingest.run` embeds on a fresh index, in the same order."""
    from ingest.chunker import chunk_article
    from ingest.pipeline import load_articles
    from rag.embedder import count_tokens_factory

    articles, _ = load_articles(settings.content_path)
    count = count_tokens_factory(settings.embed_model)
    return [c.embed_text for a in articles
            for c in chunk_article(a, count, settings.chunk_tokens, settings.chunk_overlap)]


def raw_encoder(settings: Any) -> Any:
    """The raw sentence-transformers model (what LlamaIndex's HuggingFaceEmbedding wraps)."""
    from sentence_transformers import SentenceTransformer

    from rag.embedder import model_path

    return SentenceTransformer(str(model_path(settings.embed_model)), device="cpu")


def full_ingests(content: Path, work: Path, runtimes: list[str], repeats: int,
                 cache: Path | None, raw: str = "st") -> dict[str, Any]:
    """Raw encode vs pipeline, interleaved per repeat so both see the same machine load.
    `raw`: "st" = sentence-transformers, "default" = the first runtime's own embedder."""
    from ingest.pipeline import run
    from rag.embedder import make_embedder

    base = settings_for(content, work / "idx-probe", "torch", cache)
    texts = chunk_texts(base)
    for runtime in runtimes:  # load + warm every model outside the timed region
        make_embedder(settings_for(content, work / "w", runtime, cache)).get_text_embedding_batch(
            texts[:8])
    encode = _raw(raw, content, work, runtimes[0], cache, base)
    encode(texts[:8])
    raw_s: list[float] = []
    raw_cpu: list[float] = []
    pipe_s: dict[str, list[float]] = {r: [] for r in runtimes}
    pipe_cpu: dict[str, list[float]] = {r: [] for r in runtimes}
    sentences: dict[str, tuple[int, int]] = {}
    for _ in range(repeats):
        wall, cpu, _ = cpu_timed(lambda: encode(texts))
        raw_s.append(wall)
        raw_cpu.append(cpu)
        for runtime in runtimes:
            index = work / f"idx-{runtime}"
            shutil.rmtree(index, ignore_errors=True)
            settings = settings_for(content, index, runtime, cache)
            seconds, cpu, report = cpu_timed(partial(run, settings))
            assert report.embedded == len(texts), (report.embedded, len(texts))
            pipe_s[runtime].append(seconds)
            pipe_cpu[runtime].append(cpu)
            sentences[runtime] = (report.sentences, report.sentences_fallback)
    return _summary(content, len(texts), raw, raw_s, raw_cpu, pipe_s, pipe_cpu, sentences)


def _summary(content: Path, n: int, raw: str, raw_s: list[float], raw_cpu: list[float],
             pipe_s: dict[str, list[float]], pipe_cpu: dict[str, list[float]],
             sentences: dict[str, tuple[int, int]]) -> dict[str, Any]:
    """The result of `full_ingests`: chunks/s, MB/s and ratios to the raw model per runtime."""
    mb = sum(p.stat().st_size for p in content.rglob("*.md")) / 1e6
    out: dict[str, Any] = {"chunks": n, "megabytes": round(mb, 3), "raw_seconds": raw_s,
                           "raw_cpu_seconds": raw_cpu,
                           "raw": raw, "raw_chunks_per_s": round(n / median(raw_s), 1),
                           "runtimes": {}}
    for runtime, secs in pipe_s.items():
        ratios = [r / p for r, p in zip(raw_s, secs, strict=True)]
        out["runtimes"][runtime] = {
            "seconds": secs, "chunks_per_s": round(n / median(secs), 1),
            "mb_per_s": round(mb / median(secs), 3), "ratio_to_raw": round(median(ratios), 3),
            "sentences": sentences[runtime][0], "sentences_alone": sentences[runtime][1],
            "cpu_seconds": pipe_cpu[runtime],
            "cpu_ratio_to_raw": round(median(raw_cpu) / median(pipe_cpu[runtime]), 3),
        }
    return out


def _raw(raw: str, content: Path, work: Path, runtime: str, cache: Path | None,
         base: Any) -> Any:
    """The raw model as a function of texts: sentence-transformers, or `runtime`'s embedder."""
    if raw == "default":
        from rag.embedder import make_embedder

        return make_embedder(settings_for(content, work / "w", runtime, cache)).encode
    model = raw_encoder(base)
    return partial(model.encode, batch_size=base.embed_batch_size, normalize_embeddings=True)


def reingests(content: Path, work: Path, runtime: str, cache: Path | None,
              full_seconds: float) -> dict[str, Any]:
    """No-op and one-article-changed re-ingest on the index the full run left behind."""
    from ingest.pipeline import run
    from rag.index.bm25 import BM25
    from rag.index.folders import current_generation, read_chunks

    settings = settings_for(content, work / f"idx-{runtime}", runtime, cache)
    noop = [timed(lambda: run(settings)) for _ in range(3)]
    assert all(r.unchanged == r.articles and r.embedded == 0 for _, r in noop)
    noop_s = median([s for s, _ in noop])
    target = sorted(content.rglob("*.md"))[len(list(content.rglob("*.md"))) // 2]
    original = target.read_text(encoding="utf-8")
    changed = []
    for n in range(3):
        target.write_text(original + f"\n\nA sentence added by the benchmark, edit {n}.\n",
                          encoding="utf-8")
        changed.append(timed(lambda: run(settings)))
    target.write_text(original, encoding="utf-8")
    assert all(r.updated == 1 and r.unchanged == r.articles - 1 for _, r in changed)
    folder = current_generation(settings.index_path)
    assert folder is not None
    chunks = read_chunks(folder)
    bm25 = BM25.load(folder)
    mine = [c for c in chunks if c.source == str(target.relative_to(content))]
    update_s = median([timed(lambda: bm25.updated({c.id for c in mine}, [c.id for c in mine],
                                                  [c.embed_text for c in mine]))[0]
                       for _ in range(3)])
    rebuild_s = timed(lambda: BM25.build([c.id for c in chunks], [c.embed_text for c in chunks]))[0]
    return {
        "noop_seconds": round(noop_s, 3), "noop_ratio": round(noop_s / full_seconds, 4),
        "one_changed_seconds": round(median([s for s, _ in changed]), 3),
        "one_changed_embedded": changed[0][1].embedded,
        "bm25_update_seconds": round(update_s, 4), "bm25_rebuild_seconds": round(rebuild_s, 4),
        "changed_article": str(target.relative_to(content)),
    }


def dev_ndcg(content: Path, work: Path, runtime: str, cache: Path | None) -> dict[str, float]:
    """Mean nDCG@10 (sources) over the cwe-playbook dev questions, dense and hybrid."""
    from evals.metrics import ndcg_at
    from rag.embedder import make_embedder
    from rag.index import load_index
    from rag.retrieve import search

    settings = settings_for(content, work / f"idx-{runtime}", runtime, cache)
    reader = load_index(settings)
    embedder = make_embedder(settings)
    rows = [json.loads(line) for line in
            (ROOT / "evals" / "datasets" / "cwe-playbook.jsonl").read_text().splitlines() if line]
    rows = [r for r in rows if r.get("split") == "dev" and not r["gold"]["refuse"]]
    prefix = "docs/" if (content / "docs").is_dir() else ""
    scores: dict[str, float] = {}
    for mode in ("dense", "hybrid"):
        values = []
        for row in rows:
            vector = embedder.get_query_embedding(row["question"])
            hits = search(reader, row["question"], vector, settings, mode=mode, depth=50)
            ranked = [reader.chunks[cid].source.removeprefix(prefix) for cid, _, _ in hits]
            values.append(ndcg_at(ranked, set(row["gold"]["sources"]), 10))
        scores[mode] = round(100 * sum(values) / len(values), 2)
    return scores


def cli_ingest(content: Path, work: Path, runtime: str, cache: Path | None) -> dict[str, Any]:
    """`playbook ingest --json` as a new process, twice (full, then no-op): wall and peak RSS."""
    import os

    name, int8, kind = RUNTIMES[runtime]
    env = {**os.environ, "PLAYBOOK_EMBED_RUNTIME": name, "PLAYBOOK_EMBED_INT8": str(int8),
           "PLAYBOOK_SENTENCE_VECTORS": kind}
    if cache:
        env["PLAYBOOK_MODEL_CACHE_DIR"] = str(cache)
    index = work / f"cli-{runtime}"
    shutil.rmtree(index, ignore_errors=True)
    argv = [PYTHON, "-m", "ui.cli", "ingest", "--content", str(content), "--index", str(index),
            "--json"]
    full_wall, full_rss, out = run_child_peak_rss(argv, env)
    noop_wall, noop_rss, out2 = run_child_peak_rss(argv, env)
    first, second = json.loads(out), json.loads(out2)
    return {"full_wall_s": round(full_wall, 2), "full_peak_rss_mb": round(full_rss, 1),
            "noop_wall_s": round(noop_wall, 2), "noop_peak_rss_mb": round(noop_rss, 1),
            "noop_ratio": round(noop_wall / full_wall, 4), "articles": first["articles"],
            "skipped": first["skipped"], "second_unchanged": second["unchanged"],
            "chunks": first["chunks"]}


def prepare(args: argparse.Namespace, work: Path) -> tuple[Path, str]:
    """A private copy of the corpus (one article gets edited): (folder, label)."""
    from benchmarks.synthetic import write_corpus

    content = work / "content"
    shutil.rmtree(content, ignore_errors=True)
    if args.quick:
        write_corpus(content, 6, seed=args.seed)
        return content, "synthetic-quick"
    if args.corpus == "cwe":
        shutil.copytree(CWE, content)
        return content, "cwe-playbook"
    if args.corpus == "18f":
        shutil.copytree(CWE.parent / "18f-handbook" / "pages", content)  # as the eval suites
        return content, "18f-handbook"
    write_corpus(content, args.articles, seed=args.seed)
    return content, f"synthetic ({args.articles} articles, seed {args.seed})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=["cwe", "18f", "synthetic"], default="cwe")
    parser.add_argument("--raw", choices=["st", "default"], default="st",
                        help="raw model: sentence-transformers or the first runtime's embedder")
    parser.add_argument("--only-full", action="store_true",
                        help="stop after the full ingests (no re-ingest, nDCG or CLI passes)")
    parser.add_argument("--articles", type=int, default=140, help="synthetic corpus size")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--runtimes", default="torch,onnx,onnx-int8")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="tiny corpus, one repeat")
    parser.add_argument("--no-update", action="store_true", help="do not touch BENCHMARKS.md")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temp dir)")
    parser.add_argument("--cache", type=Path, help="model cache dir (default: the setting's)")
    args = parser.parse_args(argv)
    runtimes = args.runtimes.split(",")
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    content, label = prepare(args, work)
    repeats = 1 if args.quick else args.repeats
    result: dict[str, Any] = {"corpus": label, "repeats": repeats}
    result["full"] = full_ingests(content, work, runtimes, repeats, args.cache, args.raw)
    if args.only_full:
        emit(f"ingest-{label.split()[0]}", result, rows_for(label, result), not args.no_update)
        return
    first = runtimes[0]
    full_s = median(result["full"]["runtimes"][first]["seconds"])
    result["reingest"] = {"runtime": first, **reingests(content, work, first, args.cache, full_s)}
    if not args.no_update:  # record what we have: the steps below take as long again
        emit(f"ingest-{label.split()[0]}", result, rows_for(label, result), True)
    if label.startswith("cwe"):
        result["ndcg"] = {r: dev_ndcg(content, work, r, args.cache) for r in runtimes}
    result["cli"] = {"runtime": first, **cli_ingest(content, work, first, args.cache)}
    emit(f"ingest-{label.split()[0]}", result, rows_for(label, result), not args.no_update)
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
