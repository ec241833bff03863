"""The Markdown report (with matplotlib PNG plots) a person opens to compare configurations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evals.checker_report import checker_section
from evals.refusal_report import refusal_section

RETRIEVAL_COLUMNS = ("hit@1", "hit@3", "hit@5", "mrr@10", "ndcg@10", "recall@10", "recall@100",
                     "quote@1", "quote@5", "latency_p50_ms", "latency_p95_ms")
ANSWER_COLUMNS = ("citation_validity", "citation_recall", "citation_precision",
                  "key_point_recall", "cites_gold", "gold_sentences", "cited_quote",
                  "refusal_precision", "refusal_recall", "false_refusal_rate",
                  "off_topic_refusal_rate", "near_miss_refusal_rate", "faithfulness", "errors")
LATENCY_COLUMNS = ("retrieve_p50_ms", "retrieve_p95_ms", "generate_p50_ms", "generate_p95_ms",
                   "total_p50_ms", "total_p95_ms")
PUBLISHED_SCIFACT = {  # nDCG@10 on the SciFact TEST split (BEIR papers), for orientation only
    "BM25 (Anserini)": 0.665, "all-MiniLM-L6-v2": 0.645, "BM25 + cross-encoder": 0.688,
    "bge-small-en-v1.5": 0.713,
}


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3f}"
    return str(value)


def table(rows: Mapping[str, Mapping[str, Any]], columns: Sequence[str], first: str) -> str:
    """A Markdown table: one row per key of `rows`, only columns some row has."""
    cols = [c for c in columns if any(c in r for r in rows.values())]
    lines = [f"| {first} | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in rows.items():
        lines.append(f"| {name} | " + " | ".join(_fmt(row.get(c)) for c in cols) + " |")
    return "\n".join(lines)


def write_report(results: Mapping[str, Any], out: Path, plots: bool = True) -> Path:
    """Write report.md (and the PNGs when `plots`) into `out`."""
    images = _plots(results, out) if plots else []
    parts = [_header(results)]
    if results.get("notes"):
        parts.append("Notes:\n\n" + "\n".join(f"- {n}" for n in results["notes"]))
    for name, suite in results.get("suites", {}).items():
        parts.append(_suite_section(name, suite))
    if any("refusal" in r for s in results.get("suites", {}).values()
           for r in s.get("records", {}).get("retrieval", [])):
        parts.append(refusal_section(results))
    variants = results.get("variants") or _read_json(out / "variants.json")
    if variants:
        parts.append(variants_section(variants))
    if results.get("beir"):
        parts.append(beir_section(results["beir"]))
    parts.append(checker_section(results))
    if images:
        parts.append("## Plots\n\n" + "\n\n".join(f"![{p.stem}]({p.name})" for p in images))
    for name, suite in results.get("suites", {}).items():
        parts.append(_misses(name, suite))
        parts.append(key_point_misses(name, suite))
    path = out / "report.md"
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    return path


def _header(results: Mapping[str, Any]) -> str:
    config = results.get("config", {})
    settings = ", ".join(f"{k}={v}" for k, v in config.items() if k not in ("machine",))
    return (
        "# Evaluation report\n\n"
        f"Created {results.get('created', '?')} in {results.get('seconds', '?')} s on "
        f"{config.get('machine', '?')}.\n\nConfiguration: {settings}.\n\n"
        "Retrieval metrics are per document (the fused chunk ranking collapsed to articles); "
        "`quote@k` = the gold quote is inside one of the first k passages an answerer receives. "
        "Answer metrics need no LLM judge: citation recall/precision follow ALCE with the support "
        f"checker `{config.get('support_checker', '?')}`, so they are self-graded (the checker "
        "graded by human labels has its own section below); key-point recall is content-word "
        "coverage. Latencies were measured on a shared 2-core machine and are noisy."
    )


def _suite_section(name: str, suite: Mapping[str, Any]) -> str:
    questions = suite.get("questions", [])
    in_scope = sum(not q["refuse"] for q in questions)
    text = [f"## Suite `{name}` ({in_scope} in-scope + {len(questions) - in_scope} off-topic "
            "questions)", "### Retrieval",
            table(suite["retrieval"], RETRIEVAL_COLUMNS, "retriever")]
    if suite.get("answers"):
        text += ["### Answers (citation recall / precision: self-graded)",
                 table(suite["answers"], ANSWER_COLUMNS, "answerer"),
                 "Latency per stage (ms):", table(suite["answers"], LATENCY_COLUMNS, "answerer")]
    return "\n\n".join(text)


def variants_section(data: Mapping[str, Any]) -> str:
    """Every article-level retrieval variant tried, kept or not (`python -m evals.variants`)."""
    corpora = [*data.get("choose_on", []), *data.get("report_only", [])]
    lines = ["## Retrieval variants (hybrid, document level)",
             f"nDCG@10 / hit@3 per corpus; a variant is kept only when it beats the baseline's "
             f"nDCG@10 on every one of {', '.join(data.get('choose_on', []))} (test columns are "
             f"report-only; without SciFact train nothing is kept). The default since "
             f"2026-11-30 is convex score fusion (`fusion = \"convex\"`). Kept: "
             f"{', '.join(data.get('kept', [])) or 'none'}. Beats the default on every one of "
             f"them too (would replace it): "
             f"{', '.join(data.get('beats_default', [])) or 'none'}. Questions: "
             + ", ".join(f"{k} {v}" for k, v in data.get("queries", {}).items()) + ".", "",
             "| variant | settings | " + " | ".join(corpora) + " | kept |",
             "|---" * (len(corpora) + 3) + "|"]
    for name, variant in data.get("variants", {}).items():
        cells = [f"{c['ndcg@10']:.3f} / {c['hit@3']:.3f}" if (c := variant["corpora"].get(k))
                 else "–" for k in corpora]
        settings = ", ".join(f"{k}={v}" for k, v in variant.get("settings", {}).items()) or "–"
        kept = ("yes" if name in data.get("kept", []) else
                "wins (SciFact train not in this run)" if name in data.get("wins", []) else "")
        lines.append(f"| {name} | {settings} | " + " | ".join(cells) + f" | {kept} |")
    return "\n".join(lines)


def _read_json(path: Path) -> Any:
    import json

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def beir_section(runs: Sequence[Mapping[str, Any]]) -> str:
    """BEIR runs side by side, with published SciFact test-split figures for orientation."""
    text = ["## BEIR datasets"]
    for run in runs:
        text.append(f"### {run['name']} ({run['queries']} queries with qrels in "
                    f"`{run['qrels']}`, {run['documents']} documents)")
        text.append(table(run["metrics"], ("ndcg@10", "recall@100", "mrr@10", "hit@1",
                                           "latency_p50_ms"), "retriever"))
        if "scifact" in run["name"].lower():
            published = ", ".join(f"{k} {v:.3f}" for k, v in PUBLISHED_SCIFACT.items())
            text.append(f"Published nDCG@10 on the SciFact **test** split (orientation only; "
                        f"ours is the **{run['split']}** split): {published}.")
    return "\n\n".join(text)


def _misses(name: str, suite: Mapping[str, Any]) -> str:
    """Questions the hybrid retriever or an answerer got wrong, one row each."""
    questions = {q["id"]: q for q in suite.get("questions", [])}
    rows = []
    for rec in suite["records"]["retrieval"]:
        q, hybrid = questions[rec["id"]], rec.get("hybrid", {})
        if q["refuse"]:
            continue
        misses = [m for m in ("hit@5", "quote@5") if hybrid.get(m) == 0.0]
        if misses:
            rows.append((q, "retrieval " + "/".join(misses), ", ".join(hybrid.get("top", [])[:3])))
    for answerer, records in suite["records"]["answers"].items():
        for rec in records:
            q = questions[rec["id"]]
            miss = _answer_miss(q, rec)
            if miss:
                rows.append((q, f"{answerer}: {miss}", rec.get("answer", "")[:80]))
    lines = [f"### Misses in `{name}` ({len(rows)})", "",
             "| id | kind | question | miss | top documents / answer |", "|---|---|---|---|---|"]
    for q, miss, detail in rows:
        lines.append(f"| {q['id']} | {q['kind']} | {_cell(q['question'])} | {miss} | "
                     f"{_cell(detail)} |")
    return "\n".join(lines)


def key_point_misses(name: str, suite: Mapping[str, Any]) -> str:
    """Per answerer and question, the golden key points its answer does not cover."""
    from evals.metrics import key_point_recall

    questions = {q["id"]: q for q in suite.get("questions", [])}
    rows = []
    for answerer, records in suite.get("records", {}).get("answers", {}).items():
        for rec in records:
            q = questions[rec["id"]]
            if q["refuse"] or rec.get("refused") or "error" in rec:
                continue
            missed = [p for p in q.get("key_points", [])
                      if key_point_recall(rec.get("answer", ""), [p]) < 1.0]
            if missed:
                rows.append(f"| {answerer} | {q['id']} | {_cell(q['question'])} | "
                            f"{len(missed)}/{len(q['key_points'])} | "
                            f"{_cell('; '.join(missed))} |")
    return "\n".join([f"### Key points missed in `{name}` ({len(rows)} answers)", "",
                      "| answerer | id | question | missed | key points not covered |",
                      "|---|---|---|---|---|", *rows])


def _answer_miss(q: Mapping[str, Any], rec: Mapping[str, Any]) -> str:
    if "error" in rec:
        return "error"
    if q["refuse"] and not rec["refused"]:
        return "answered an off-topic question"
    if not q["refuse"] and rec["refused"]:
        return "false refusal"
    if rec.get("cites_gold") == 0.0:
        return "cites no gold document"
    return ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _plots(results: Mapping[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    from evals import plots

    return plots.draw_all(results, out)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m evals.report DIR`: re-render DIR/report.md from DIR/results.json and any
    DIR/beir-*.json (no re-run)."""
    import json
    import sys

    folder = Path((argv if argv is not None else sys.argv[1:])[0])
    results = json.loads((folder / "results.json").read_text())
    runs = [json.loads(p.read_text()) for p in sorted(folder.glob("beir-*.json"))]
    if runs:
        results["beir"] = runs
    print(write_report(results, folder))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
