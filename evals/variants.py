"""Article-level retrieval variants side by side, on dev data (and test, report-only).

    python -m evals.variants [--out evals/results] [--scifact ../shared/corpora/scifact]

Each variant is a set of Settings (article-level fusion weight, title/heading BM25 field
weight, BM25 weight, rank or score fusion) run through the production `rag.retrieve.search`,
on cwe-dev, 18f-dev, npm-dev and SciFact train (the corpora we may choose on), plus cwe-test,
18f-test and npm-test as report-only columns. Query vectors are computed once per question and
shared by the variants. A variant is kept only when it beats the baseline's nDCG@10 on every
dev corpus. Writes `variants.json` for the report.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from evals import metrics
from evals.runner import DEPTH
from evals.suites import DEFAULT_CORPORA

RRF: dict[str, Any] = {"fusion": "rrf"}  # the variants before convex fusion build on RRF
VARIANTS: dict[str, dict[str, Any]] = {
    "baseline (RRF, best chunk per article)": RRF,
    "(a) article fusion 0.5": RRF | {"article_weight": 0.5},
    "(a) article fusion 1": RRF | {"article_weight": 1.0},
    "(a) article fusion 2": RRF | {"article_weight": 2.0},
    "(b) heading field 0.5": RRF | {"heading_weight": 0.5},
    "(b) heading field 1": RRF | {"heading_weight": 1.0},
    "(a)+(b) 1 / 0.5": RRF | {"article_weight": 1.0, "heading_weight": 0.5},
    "(c) RRF, BM25 weight 1.5": RRF | {"bm25_weight": 1.5},
    "(d) convex score fusion": {"fusion": "convex"},
    "(d) convex, BM25 weight 0.67": {"fusion": "convex", "bm25_weight": 0.67},
    "(d) convex, BM25 weight 1.5": {"fusion": "convex", "bm25_weight": 1.5},
    "(d)+(a) convex + article fusion 1": {"fusion": "convex", "article_weight": 1.0},
}
DEFAULT = "(d) convex score fusion"  # the variant whose settings are today's defaults
DEV_SUITES = ("cwe-dev", "18f-dev", "npm-dev")
CHOOSE_ON = (*DEV_SUITES, "scifact-train")
REPORT_ONLY = ("cwe-test", "18f-test", "npm-test")
Query = tuple[str, list[float], metrics.Relevant]


def suite_queries(name: str, base: Any) -> tuple[list[Query], str, Any, Any]:
    """(queries, gold key, reader, settings) of an answerable-question suite."""
    from evals.suites import build_index, resolve, suite_settings, with_questions
    from rag.embedder import make_embedder
    from rag.index import load_index

    suite = with_questions(resolve(name)[0])
    settings = suite_settings(suite, base)
    build_index(settings)
    embedder = make_embedder(settings)
    queries: list[Query] = [(q.question, embedder.get_query_embedding(q.question), q.relevant)
                            for q in suite.questions if not q.refuse]
    return queries, suite.key, load_index(settings), settings


def beir_queries(folder: Path, base: Any) -> tuple[list[Query], str, Any, Any]:
    """SciFact train queries over the BEIR cache index (`playbook eval --beir` builds it)."""
    from evals.beir import read_qrels, write_corpus
    from evals.jsonl import read_objects as read_jsonl
    from evals.suites import DEFAULT_CACHE
    from ingest.pipeline import run
    from rag.embedder import make_embedder
    from rag.index import load_index

    root = DEFAULT_CACHE / f"beir-{folder.resolve().name}"
    settings = base.model_copy(update={"content_dir": root / "content",
                                       "index_dir": root / "index"})
    write_corpus(read_jsonl(folder / "corpus.jsonl"), root / "content")
    run(settings)
    qrels = read_qrels(folder / "qrels" / "train.tsv")
    texts = {str(q["_id"]): q["text"] for q in read_jsonl(folder / "queries.jsonl")}
    embedder = make_embedder(settings)
    queries: list[Query] = [(texts[q], embedder.get_query_embedding(texts[q]), qrels[q])
                            for q in qrels if q in texts]
    return queries, "article_id", load_index(settings), settings


def score(queries: Sequence[Query], key: str, reader: Any, settings: Any) -> dict[str, float]:
    """Mean document-level nDCG@10, hit@3 and MRR@10 of hybrid search under `settings`."""
    from rag.retrieve import search

    rows = []
    for text, vector, relevant in queries:
        hits = search(reader, text, vector, settings, mode="hybrid", depth=DEPTH)
        ranked = metrics.dedupe(getattr(reader.chunks[c], key) for c, _, _ in hits)
        rows.append(metrics.retrieval_scores(ranked, relevant))
    return {k: round(metrics.mean(r[k] for r in rows) or 0.0, 4)
            for k in ("ndcg@10", "hit@3", "mrr@10")}


def beating(table: dict[str, dict[str, dict[str, float]]], reference: str,
            variants: Sequence[str], corpora: Sequence[str]) -> list[str]:
    """The `variants` whose nDCG@10 beats the `reference` variant's on every one of `corpora`."""
    return [v for v in variants if v != reference
            and all(table[v][c]["ndcg@10"] > table[reference][c]["ndcg@10"] for c in corpora)]


def run_variants(base: Any, scifact: Path | None, say: Callable[[str], None]) -> dict[str, Any]:
    """Every variant's figures per corpus, and which variants are kept."""
    corpora: dict[str, tuple[list[Query], str, Any, Any]] = {}
    for name in (*DEV_SUITES, *REPORT_ONLY):
        say(f"loading {name}")
        corpora[name] = suite_queries(name, base)
    if scifact is not None:
        say("loading scifact train")
        corpora["scifact-train"] = beir_queries(scifact, base)
    table: dict[str, dict[str, dict[str, float]]] = {}
    for variant, update in VARIANTS.items():
        say(f"variant {variant}")
        table[variant] = {
            name: score(queries, key, reader, settings.model_copy(update=update))
            for name, (queries, key, reader, settings) in corpora.items()
        }
    baseline = next(iter(VARIANTS))
    chosen = [c for c in CHOOSE_ON if c in table[baseline]]
    # Keep only what wins on every dev corpus, SciFact train included: without it, keep nothing.
    judged = "scifact-train" in table[baseline]
    wins = beating(table, baseline, list(VARIANTS), chosen)
    better = beating(table, DEFAULT, wins, chosen)  # what would replace today's default
    return {"variants": {v: {"settings": VARIANTS[v], "corpora": table[v]} for v in VARIANTS},
            "choose_on": chosen, "report_only": list(REPORT_ONLY),
            "kept": wins if judged else [], "wins": wins, "default": DEFAULT,
            "beats_default": better if judged else [],
            "queries": {name: len(c[0]) for name, c in corpora.items()}}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the variants, print a table, write variants.json."""
    from rag.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m evals.variants", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--scifact", type=Path, default=DEFAULT_CORPORA / "scifact")
    args = parser.parse_args(argv)
    scifact = args.scifact if (args.scifact / "corpus.jsonl").is_file() else None
    result = run_variants(Settings.model_validate({}), scifact,
                          lambda m: print(f"... {m}", file=sys.stderr, flush=True))
    for variant, data in result["variants"].items():
        cells = "  ".join(f"{c} {v['ndcg@10']:.3f}/{v['hit@3']:.3f}"
                          for c, v in data["corpora"].items())
        print(f"{variant:<36} {cells}")
    print(f"nDCG@10/hit@3; kept (beat the baseline on {', '.join(result['choose_on'])}): "
          f"{result['kept'] or 'none'}; beat the default ({DEFAULT}) too: "
          f"{result['beats_default'] or 'none'}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "variants.json").write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
