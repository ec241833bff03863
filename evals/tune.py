"""Grid search of the fusion and BM25 knobs on DEV data only (cwe-dev questions, SciFact train).

    python -m evals.tune --suite cwe-dev
    python -m evals.tune --beir ../shared/corpora/scifact --qrels .../qrels/train.tsv

Uses the cached index of `playbook eval`. Dense rankings are computed once per question; BM25 is
rebuilt in memory per tokenizer / k1 / b; fusion is replayed per RRF k, depth and BM25 weight.
Prints document-level nDCG@10, MRR@10 and hit@1 per configuration, best first. Never run it on a
test split: the thresholds and defaults it informs would then overfit the figures we report.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals import metrics
from rag.index.bm25 import STEMMERS

DEPTHS = (30, 50, 100)
RRF_KS = (5, 10, 20, 30, 60)
WEIGHTS = (0.5, 0.75, 1.0, 1.5)
K1S = (0.9, 1.2, 1.5)
BS = (0.5, 0.75, 0.9)


def fuse(dense: Sequence[str], sparse: Sequence[str], k: int, weight: float) -> list[str]:
    """Weighted reciprocal rank fusion of two chunk rankings (dense weight 1)."""
    scores: dict[str, float] = {}
    for w, ranking in ((1.0, dense), (weight, sparse)):
        for rank, cid in enumerate(ranking, start=1):
            scores[cid] = scores.get(cid, 0.0) + w / (k + rank)
    return sorted(scores, key=lambda c: (-scores[c], c))


def _score(runs: list[tuple[list[str], metrics.Relevant]], doc_of: dict[str, str]
           ) -> dict[str, float]:
    rows = []
    for ranking, relevant in runs:
        ranked = metrics.dedupe(doc_of[c] for c in ranking)
        rows.append(metrics.retrieval_scores(ranked, relevant))
    return {k: metrics.mean(r[k] for r in rows) or 0.0 for k in ("ndcg@10", "mrr@10", "hit@1")}


def grid(queries: list[tuple[str, list[float], metrics.Relevant]], chunks: dict[str, Any],
         key: str, reader: Any, space: dict[str, Sequence[Any]] | None = None
         ) -> list[tuple[dict[str, Any], dict[str, float]]]:
    """Every configuration's scores on the given (query, vector, relevant) triples."""
    space = {"stemmer": STEMMERS, "k1": K1S, "b": BS, "depth": DEPTHS, "rrf_k": RRF_KS,
             "bm25_weight": WEIGHTS} | (space or {})
    from rag.index import bm25 as bm25_module

    doc_of = {cid: getattr(c, key) for cid, c in chunks.items()}
    depth_max = max(space["depth"])
    dense = [[cid for cid, _ in reader.dense(v, depth_max)] for _, v, _ in queries]
    ids, texts = list(chunks), [c.embed_text for c in chunks.values()]
    results = []
    for stemmer in space["stemmer"]:
        counted = bm25_module.BM25.build(ids, texts, stemmer)
        for k1, b in itertools.product(space["k1"], space["b"]):
            index = bm25_module.BM25(counted.ids, counted.terms, counted.vocab, k1, b, stemmer)
            sparse = [[cid for cid, _ in index.search(q, depth_max)] for q, _, _ in queries]
            base = {"stemmer": stemmer, "k1": k1, "b": b}
            rel = [r for _, _, r in queries]
            results.append((base | {"mode": "bm25"},
                            _score(list(zip(sparse, rel, strict=True)), doc_of)))
            for depth, k, w in itertools.product(space["depth"], space["rrf_k"],
                                                 space["bm25_weight"]):
                fused = [fuse(d[:depth], s[:depth], k, w) for d, s in zip(dense, sparse,
                                                                          strict=True)]
                results.append((base | {"mode": "hybrid", "depth": depth, "rrf_k": k,
                                        "bm25_weight": w},
                                _score(list(zip(fused, rel, strict=True)), doc_of)))
    results.append(({"mode": "dense"}, _score(list(zip(dense, [r for *_, r in queries],
                                                         strict=True)), doc_of)))
    return sorted(results, key=lambda r: -r[1]["ndcg@10"])


def _suite_queries(name: str, settings: Any) -> tuple[list[Any], str, Any]:
    from evals.suites import resolve, suite_settings, with_questions
    from rag.embedder import make_embedder
    from rag.index import load_index

    suite = with_questions(resolve(name)[0])
    if suite.split == "test":
        raise SystemExit("refusing to tune on a test split")
    local = suite_settings(suite, settings)
    embedder = make_embedder(local)
    queries = [(q.question, embedder.get_query_embedding(q.question), q.relevant)
               for q in suite.questions if not q.refuse]
    return queries, suite.key, load_index(local)


def _beir_queries(folder: Path, qrels_path: Path, settings: Any) -> tuple[list[Any], str, Any]:
    from evals.beir import read_qrels
    from evals.jsonl import read_objects as read_jsonl
    from evals.suites import DEFAULT_CACHE
    from rag.embedder import make_embedder
    from rag.index import load_index

    if "test" in qrels_path.stem:
        raise SystemExit("refusing to tune on a test split")
    qrels = read_qrels(qrels_path)
    texts = {str(q["_id"]): q["text"] for q in read_jsonl(folder / "queries.jsonl")}
    root = DEFAULT_CACHE / f"beir-{folder.resolve().name}"
    local = settings.model_copy(update={"content_dir": root / "content",
                                        "index_dir": root / "index"})
    embedder = make_embedder(local)
    queries = [(texts[q], embedder.get_query_embedding(texts[q]), qrels[q])
               for q in qrels if q in texts]
    return queries, "article_id", load_index(local)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the grid, best nDCG@10 first."""
    parser = argparse.ArgumentParser(prog="python -m evals.tune", description=__doc__)
    parser.add_argument("--suite", default="cwe-dev")
    parser.add_argument("--beir", type=Path)
    parser.add_argument("--qrels", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--stemmer", nargs="+", choices=STEMMERS)
    parser.add_argument("--k1", nargs="+", type=float)
    parser.add_argument("--b", nargs="+", type=float)
    parser.add_argument("--depth", nargs="+", type=int)
    parser.add_argument("--rrf-k", nargs="+", type=int)
    parser.add_argument("--bm25-weight", nargs="+", type=float)
    args = parser.parse_args(argv)
    space = {k: v for k, v in vars(args).items()
             if k in ("stemmer", "k1", "b", "depth", "rrf_k", "bm25_weight") and v}
    from rag.settings import Settings

    settings = Settings.model_validate({})
    if args.beir:
        queries, key, reader = _beir_queries(args.beir, args.qrels, settings)
    else:
        queries, key, reader = _suite_queries(args.suite, settings)
    results = grid(queries, reader.chunks, key, reader, space)
    print(f"{len(queries)} queries, {len(results)} configurations")
    for config, scores in results[: args.top] + [r for r in results if r[0]["mode"] == "dense"]:
        print(f"nDCG@10 {scores['ndcg@10']:.4f}  MRR@10 {scores['mrr@10']:.4f}  "
              f"hit@1 {scores['hit@1']:.4f}  {config}")
    for mode in ("bm25", "hybrid"):
        best = next(r for r in results if r[0]["mode"] == mode)
        print(f"best {mode}: {_fmt(best[1])} {best[0]}")
    for stemmer in space.get("stemmer", STEMMERS):
        best = next(r for r in results if r[0].get("stemmer") == stemmer)
        print(f"best with stemmer {stemmer}: {_fmt(best[1])} {best[0]}")
    current = {"stemmer": "light", "k1": 1.2, "b": 0.75, "depth": 30, "rrf_k": 60,
               "bm25_weight": 1.0}
    for config, scores in results:
        if all(config.get(k) == v for k, v in current.items()):
            print(f"pre-tuning defaults: {_fmt(scores)} {config}")
    return 0


def _fmt(scores: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.4f}" for k, v in scores.items())


if __name__ == "__main__":
    raise SystemExit(main())
