"""`playbook eval`: the command-line side of the evaluation suite (ui/cli.py delegates here)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from evals.suites import DEFAULT_CACHE, DEFAULT_CORPORA, ROOT
from rag.errors import PlaybookError
from rag.settings import Settings

DEFAULT_OUT = ROOT / "evals" / "results"


def _say(message: str) -> None:
    """Progress on stderr (stdout carries the summary)."""
    print(f"... {message}", file=sys.stderr, flush=True)


def run_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run suites (or a BEIR dataset), write JSON + Markdown report, print a summary."""
    cache = args.cache or DEFAULT_CACHE
    out = args.out or DEFAULT_OUT
    if args.beir is not None:
        return _run_beir(args, settings, cache, out)
    if args.qrels is not None:
        raise PlaybookError("--qrels needs --beir DIR (the BEIR dataset folder).")
    from evals.evaluate import run_eval, write_results

    if args.suite == "gate":
        return _run_gate(settings, cache, args.corpora or DEFAULT_CORPORA, out)
    quiet = getattr(args, "quiet", False)
    results = run_eval(args.suite, settings, answerers=args.llm, cache=cache,
                       corpora=args.corpora or DEFAULT_CORPORA,
                       progress=None if quiet else _say,
                       progress_every=getattr(args, "progress_every", 5.0))
    _keep_beir(results, out)
    report = write_results(results, out)
    _print_summary(results)
    print(f"Report: {report}")
    return 0


def _run_gate(settings: Settings, cache: Path, corpora: Path, out: Path) -> int:
    from evals.gate import format_checks, run_gate

    checks, results = run_gate(settings, cache=cache, corpora=corpora, progress=_say)
    print(format_checks(checks))
    failed = [c for c in checks if not c.ok]
    print(f"gate: {len(checks) - len(failed)}/{len(checks)} checks pass ({results['seconds']} s)")
    return 1 if failed or not checks else 0


def _run_beir(args: argparse.Namespace, settings: Settings, cache: Path, out: Path) -> int:
    from evals.beir import format_run, run_beir

    if args.qrels is None:
        raise PlaybookError("--beir needs --qrels FILE (e.g. DIR/qrels/test.tsv).")
    result = run_beir(args.beir, args.qrels, settings, cache=cache, progress=_say)
    print(format_run(result))
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"beir-{result['name']}-{result['split']}.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(f"Results: {path}")
    return 0


def _keep_beir(results: dict[str, Any], out: Path) -> None:
    """Carry BEIR runs saved in `out` into the report."""
    files = sorted(out.glob("beir-*.json")) if out.is_dir() else []
    runs = [json.loads(p.read_text()) for p in files]
    if runs:
        results["beir"] = runs


def _print_summary(results: dict[str, Any]) -> None:
    for name, suite in results["suites"].items():
        print(f"== {name}")
        for mode, row in suite["retrieval"].items():
            print(f"  {mode:<8} hit@1 {row.get('hit@1', 0):.3f}  hit@5 {row.get('hit@5', 0):.3f}  "
                  f"MRR@10 {row.get('mrr@10', 0):.3f}  nDCG@10 {row.get('ndcg@10', 0):.3f}")
        for answerer, row in suite["answers"].items():
            parts = [f"{k} {row[k]:.3f}" for k in ("citation_recall", "citation_precision",
                     "key_point_recall", "refusal_recall", "false_refusal_rate") if k in row]
            print(f"  {answerer:<10} " + "  ".join(parts))
