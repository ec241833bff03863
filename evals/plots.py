"""matplotlib figures for the report (Agg backend; the caller selects it before importing)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

RETRIEVAL = ("hit@1", "hit@5", "mrr@10", "ndcg@10", "recall@10", "quote@1", "quote@5")
ANSWERS = ("citation_validity", "citation_recall", "citation_precision", "key_point_recall",
           "cites_gold", "refusal_precision", "refusal_recall", "false_refusal_rate")


def draw_all(results: Mapping[str, Any], out: Path) -> list[Path]:
    """Every figure that has data; returns the PNG paths written."""
    suites = results.get("suites", {})
    paths = []
    if suites:
        paths.append(_grouped(suites, "retrieval", RETRIEVAL, out / "retrieval.png",
                              "Retrieval per retriever"))
        if any(s.get("answers") for s in suites.values()):
            paths.append(_grouped(suites, "answers", ANSWERS, out / "answers.png",
                                  "Answer quality per answerer"))
        paths.append(_latency(suites, out / "latency.png"))
        curves = _refusal_curves(suites, out / "refusal_curves.png")
        if curves is not None:
            paths.append(curves)
    if results.get("beir"):
        paths.append(_beir(results["beir"], out / "beir.png"))
    return paths


def _grouped(suites: Mapping[str, Any], scope: str, metrics: Sequence[str], path: Path,
             title: str) -> Path:
    names = [n for n, s in suites.items() if s.get(scope)]
    fig, axes = plt.subplots(len(names), 1, figsize=(10, 3.2 * len(names)), squeeze=False)
    for ax, name in zip(axes[:, 0], names, strict=True):
        rows = suites[name][scope]
        cols = [m for m in metrics if any(m in r for r in rows.values())]
        width = 0.8 / max(len(rows), 1)
        for i, (label, row) in enumerate(rows.items()):
            xs = [j + i * width for j in range(len(cols))]
            ax.bar(xs, [row.get(c, 0.0) for c in cols], width, label=label)
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(cols))], cols, fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.set_title(f"{title}: {name}", fontsize=10)
        ax.legend(fontsize=8, loc="lower right")
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _latency(suites: Mapping[str, Any], path: Path) -> Path:
    """Distribution of retrieval latency per retriever and answer latency per answerer."""
    data: dict[str, list[float]] = {}
    for suite in suites.values():
        for rec in suite["records"]["retrieval"]:
            data.setdefault("embed query", []).append(rec["embed_ms"])
            for mode in ("dense", "bm25", "hybrid"):
                if mode in rec:
                    data.setdefault(f"retrieve {mode}", []).append(rec[mode]["ms"])
        for answerer, records in suite["records"]["answers"].items():
            values = [r["timings_ms"]["total"] for r in records
                      if "total" in r.get("timings_ms", {})]
            data.setdefault(f"ask {answerer} (total)", []).extend(values)
    fig, ax = plt.subplots(figsize=(10, 4))
    labels = [k for k, v in data.items() if v]
    ax.boxplot([data[k] for k in labels], orientation="horizontal", showfliers=True)
    ax.set_yticks(range(1, len(labels) + 1), labels, fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("milliseconds (log scale), all suites pooled")
    ax.set_title("Latency distribution per stage", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _beir(runs: Sequence[Mapping[str, Any]], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(8, 3.5))
    metrics = ("ndcg@10", "mrr@10", "recall@100")
    ticks, labels = [], []
    for i, run in enumerate(runs):
        for j, (mode, row) in enumerate(run["metrics"].items()):
            xs = [k + j * 0.25 + i * 4 for k in range(len(metrics))]
            ax.bar(xs, [row.get(m, 0.0) for m in metrics], 0.25,
                   label=mode if i == 0 else None, color=f"C{j}")
        ticks += [k + 0.25 + i * 4 for k in range(len(metrics))]
        labels += [f"{run['name']}\n{m}" for m in metrics]
    ax.set_xticks(ticks, labels, fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_title("BEIR: dense vs BM25 vs hybrid", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _sweep(ax: Any, name: str, scores: Sequence[float], gold: Sequence[bool],
           topics: Sequence[str], color: str) -> None:
    """Per-corpus refusal shares against the threshold: what one threshold costs each corpus."""
    from evals.refusal_report import refused_share

    grid = [i / 100 for i in range(101)]
    answerability = [1.0 - s for s in scores]
    ax.plot(grid, [refused_share(answerability, gold, topics, t, "in-scope") for t in grid],
            color=color, label=name)
    if "near-miss" in topics:
        ax.plot(grid, [refused_share(answerability, gold, topics, t, "near-miss") for t in grid],
                color=color, ls="--")


def _refusal_curves(suites: Mapping[str, Any], path: Path) -> Path | None:
    """ROC and precision-recall curves of the refusal score, one line per corpus."""
    from evals import metrics
    from evals.refusal_report import refusal_rows

    data = {name: refusal_rows(suite) for name, suite in suites.items()}
    data = {k: v for k, v in data.items() if any(v[1]) and not all(v[1])}
    if not data:
        return None
    fig, (roc, pr, sweep) = plt.subplots(1, 3, figsize=(15, 4))
    for i, (name, (scores, gold, topics)) in enumerate(data.items()):
        _sweep(sweep, name, scores, gold, topics, f"C{i}")
        fpr, tpr, area = metrics.roc_curve(scores, gold)
        roc.plot(fpr, tpr, color=f"C{i}", label=f"{name} (AUC {area:.3f})", drawstyle="steps-post")
        recall, precision, ap = metrics.pr_curve(scores, gold)
        pr.plot(recall, precision, color=f"C{i}", label=f"{name} (AP {ap:.3f})")
    roc.plot([0, 1], [0, 1], color="grey", lw=0.5, ls="--")
    roc.set(xlabel="answerable questions refused (FPR)", ylabel="off-topic refused (TPR)",
            title="Refusal ROC per corpus")
    pr.set(xlabel="recall (off-topic refused)", ylabel="precision of refusals",
           title="Refusal precision-recall per corpus", ylim=(0, 1.05))
    from rag.refusal import REFUSAL_THRESHOLD

    sweep.axvline(REFUSAL_THRESHOLD, color="grey", lw=0.8, ls=":")
    sweep.set(xlabel="answerability threshold (refuse below)", ylabel="share refused",
              title="Solid: answerable refused; dashed: near misses refused", ylim=(0, 1.05))
    for ax in (roc, pr, sweep):
        ax.legend(fontsize=8, loc="lower right")
        ax.grid(alpha=0.3)
        ax.title.set_fontsize(10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
