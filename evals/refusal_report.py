"""The refusal sections of the eval report: per-corpus figures of the frozen answerability model
and what a per-corpus threshold would have bought (is one threshold enough?)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def refusal_rows(suite: Mapping[str, Any]) -> tuple[list[float], list[bool], list[str]]:
    """(refusal scores = 1 - answerability, should-refuse gold, topics) of a suite's questions."""
    questions = {q["id"]: q for q in suite.get("questions", [])}
    scores, gold, topics = [], [], []
    for rec in suite["records"]["retrieval"]:
        if "refusal" in rec:
            q = questions[rec["id"]]
            scores.append(1.0 - rec["refusal"]["score"])
            gold.append(bool(q["refuse"]))
            topics.append(q.get("topic") or ("in-scope" if not q["refuse"] else "general"))
    return scores, gold, topics


def refused_share(answerability: Sequence[float], gold: Sequence[bool], topics: Sequence[str],
                  threshold: float, kind: str) -> float | None:
    """Share of the questions of one kind refused below `threshold`: "in-scope" (answerable:
    false refusals), "off-topic" (every should-refuse question) or a topic such as "near-miss"."""
    picked = [a for a, g, t in zip(answerability, gold, topics, strict=True)
              if (kind == "in-scope" and not g) or (kind == "off-topic" and g)
              or (g and t == kind)]
    return sum(a < threshold for a in picked) / len(picked) if picked else None


def best_threshold_rows(results: Mapping[str, Any], max_frr: float = 0.03
                        ) -> dict[str, dict[str, Any]]:
    """Per corpus: the highest threshold that keeps ITS false refusals <= `max_frr`, and what it
    would refuse there. Different thresholds per corpus = one threshold cannot serve all."""
    rows: dict[str, dict[str, Any]] = {}
    for name, suite in results.get("suites", {}).items():
        scores, gold, topics = refusal_rows(suite)
        if not any(gold) or all(gold):
            continue
        answerability = [1.0 - s for s in scores]
        best = max((t for t in [i / 1000 for i in range(1001)]
                    if (refused_share(answerability, gold, topics, t, "in-scope") or 0.0)
                    <= max_frr), default=0.0)
        rows[name] = {"threshold": best,
                      "off_topic_refused": refused_share(answerability, gold, topics, best,
                                                         "off-topic"),
                      "near_miss_refused": refused_share(answerability, gold, topics, best,
                                                         "near-miss")}
    return rows


def refusal_section(results: Mapping[str, Any]) -> str:
    """Per-corpus refusal figures at the frozen threshold and the area under the ROC / PR
    curves of the answerability score (refusal = the positive class; a rule's refusal, e.g. a
    writing request, counts as score 0)."""
    from evals import metrics

    rows: dict[str, dict[str, Any]] = {}
    for name, suite in results.get("suites", {}).items():
        scores, gold, topics = refusal_rows(suite)
        if not scores:
            continue
        refused = [rec["refusal"]["refused"] for rec in suite["records"]["retrieval"]
                   if "refusal" in rec]
        row: dict[str, Any] = {"in-scope": sum(not g for g in gold), "off-topic": sum(gold),
                               "near-miss": topics.count("near-miss")}
        row.update({k: v for k, v in metrics.refusal_scores(gold, refused).items()
                    if k == "false_refusal_rate"})
        row.update(metrics.refusal_by_topic([t for t, g in zip(topics, gold, strict=True) if g],
                                            [r for r, g in zip(refused, gold, strict=True) if g]))
        row["roc_auc"] = metrics.roc_curve(scores, gold)[2]
        row["average_precision"] = metrics.pr_curve(scores, gold)[2]
        rows[name] = row
    columns = ("in-scope", "off-topic", "near-miss", "false_refusal_rate",
               "off_topic_refusal_rate", "near_miss_refusal_rate", "roc_auc",
               "average_precision")
    return "\n\n".join([
        "## Refusal per corpus",
        "One frozen answerability model and threshold (rag/refusal.py, fitted on the dev "
        "splits of every dev corpus together: `python -m evals.calibrate_refusal`). ROC AUC "
        "and average precision treat refusal as the positive class; the curves are in "
        "`refusal_curves.png` (right panel: the share refused against the threshold, per "
        "corpus). Test splits were never used to choose anything.",
        _table(rows, columns, "suite"),
        "Per-corpus best case (hindsight, NOT a setting: on test splits it peeks): the highest "
        "threshold at which that corpus alone falsely refuses <= 3 %, and what it refuses there."
        " Where these thresholds differ or still refuse too little, no single frozen threshold "
        "on these features can meet the targets.",
        _table(best_threshold_rows(results), ("threshold", "off_topic_refused",
                                             "near_miss_refused"), "suite"),
    ])


def _table(rows: Mapping[str, Mapping[str, Any]], columns: Sequence[str], first: str) -> str:
    from evals.report import table

    return table(rows, columns, first)
