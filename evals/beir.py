"""Run a BEIR dataset (corpus.jsonl, queries.jsonl, qrels TSV) through our ingest and retrieval.

    playbook eval --beir ../shared/corpora/scifact --qrels ../shared/corpora/scifact/qrels/train.tsv

Each BEIR document becomes one Markdown article (front matter id = the BEIR _id, title = its
title) in a cache content folder; `ingest.run` indexes it like any playbook, so the figures
measure the project's own chunking, embedding, BM25 and fusion. Documents are ranked by their
best chunk (`rag.retrieve.search` collapsed per article) for dense, BM25 and hybrid.
"""

from __future__ import annotations

import csv
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evals import metrics
from evals.jsonl import read_objects as read_jsonl
from evals.runner import DEPTH, MODES
from evals.suites import DEFAULT_CACHE
from rag.errors import PlaybookError
from rag.settings import Settings

Progress = Callable[[str], None]


def read_qrels(path: Path) -> dict[str, dict[str, float]]:
    """query id -> {document id: relevance} from a BEIR qrels TSV (header line optional)."""
    qrels: dict[str, dict[str, float]] = {}
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.reader(handle, delimiter="\t"):
                if len(row) < 3 or not row[2].strip().lstrip("-").isdigit():
                    continue  # header or blank line
                qrels.setdefault(row[0], {})[row[1]] = float(row[2])
    except OSError as exc:
        raise PlaybookError(f"Cannot read qrels file {path} ({exc.strerror}).") from exc
    if not qrels:
        raise PlaybookError(f"The qrels file {path} has no judgements.")
    return qrels


def _filename(doc_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", doc_id) + ".md"


def write_corpus(corpus: list[dict[str, Any]], content: Path) -> int:
    """One Markdown article per document (unchanged files are left alone); returns the count."""
    content.mkdir(parents=True, exist_ok=True)
    wanted = set()
    for doc in corpus:
        doc_id = str(doc["_id"])
        title = (doc.get("title") or "").strip() or doc_id
        body = (doc.get("text") or "").strip() or title
        text = f"---\nid: {json.dumps(doc_id)}\ntitle: {json.dumps(title)}\n---\n\n{body}\n"
        path = content / _filename(doc_id)
        wanted.add(path.name)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    for stale in content.glob("*.md"):
        if stale.name not in wanted:
            stale.unlink()
    return len(wanted)


def run_beir(
    folder: Path, qrels_path: Path, base: Settings, cache: Path = DEFAULT_CACHE,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """nDCG@10, recall@100, MRR@10 (and more) for dense, BM25 and hybrid on one BEIR dataset."""
    from ingest.pipeline import run
    from rag.embedder import make_embedder
    from rag.index import load_index
    from rag.retrieve import search

    name = folder.resolve().name
    qrels = read_qrels(qrels_path)
    queries = {str(q["_id"]): q["text"] for q in read_jsonl(folder / "queries.jsonl")}
    judged = [qid for qid in qrels if qid in queries]
    if not judged:
        raise PlaybookError(f"No query in {folder / 'queries.jsonl'} has a judgement in qrels.")
    root = cache / f"beir-{name}"
    documents = write_corpus(read_jsonl(folder / "corpus.jsonl"), root / "content")
    settings = base.model_copy(update={"content_dir": root / "content",
                                       "index_dir": root / "index"})
    if progress:
        progress(f"indexing {documents} documents (cached in {root})")
    report = run(settings)
    reader = load_index(settings)
    embedder = make_embedder(settings)
    per_mode: dict[str, list[dict[str, float]]] = {m: [] for m in MODES}
    times: dict[str, list[float]] = {m: [] for m in MODES}
    for i, qid in enumerate(judged, start=1):
        vector = embedder.get_query_embedding(queries[qid])
        for mode in MODES:
            started = time.perf_counter()
            hits = search(reader, queries[qid], vector, settings, mode=mode, depth=DEPTH)
            times[mode].append((time.perf_counter() - started) * 1000)
            ranked = metrics.dedupe(reader.chunks[cid].article_id for cid, _, _ in hits)
            per_mode[mode].append(metrics.retrieval_scores(ranked, qrels[qid]))
        if progress and i % 100 == 0:
            progress(f"{i}/{len(judged)} queries")
    summary = {
        mode: {k: metrics.mean(s[k] for s in scores) for k in scores[0]}
        | {"latency_p50_ms": metrics.percentile(times[mode], 50)}
        for mode, scores in per_mode.items()
    }
    return {
        "name": name, "split": qrels_path.stem, "qrels": str(qrels_path),
        "queries": len(judged), "documents": documents, "chunks": report.chunks,
        "metrics": summary,
        "config": {"rrf_k": settings.rrf_k, "bm25_weight": settings.bm25_weight, "depth": DEPTH,
                   "chunk_tokens": settings.chunk_tokens, "bm25_stemmer": reader.bm25.stemmer,
                   "embed_runtime": settings.embed_runtime},
    }


def format_run(result: dict[str, Any]) -> str:
    """Plain-text table of a run: one row per retriever."""
    lines = [f"{result['name']} ({result['split']}): {result['queries']} queries, "
             f"{result['documents']} documents, {result['chunks']} chunks",
             f"{'retriever':<10} {'nDCG@10':>8} {'recall@100':>11} {'MRR@10':>8}"]
    for mode, row in result["metrics"].items():
        lines.append(f"{mode:<10} {row['ndcg@10']:>8.3f} {row['recall@100']:>11.3f} "
                     f"{row['mrr@10']:>8.3f}")
    return "\n".join(lines)
