"""Refusal round 10 (2026-12-02): gradient-boosted trees against the frozen logistic model.

    python -m evals.calibrate_refusal --dump /tmp/refrows.json
    python -m benchmarks.refusal_trees /tmp/refrows.json

Class-balanced fits on the dev rows (questions no rule refuses), trees monotone increasing in
every feature; the threshold rule is calibrate_refusal's (the highest with each fitted corpus's
false refusals <= 5 %). Prints, per model: leave-one-dev-corpus-out figures (false refusals /
off-topic refused / near misses refused on the held-out corpus), the full-dev fit's per-suite
figures (test suites report-only), and the held-out separability (AUC, off-topic refused at the
held-out corpus's own 5 % threshold, false refusals at the transferred one). Result in
BENCHMARKS.md: not adopted.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from evals.calibrate_refusal import CHOSEN, DEV, TEST
from rag.answerability import FEATURES

MAX_FRR = 0.05
Kind = tuple[str, int, int, int]  # ("lr", 0, 0, 0) or ("trees", depth, rounds, min leaf)


def design(rows: list[dict[str, Any]], suites: list[str], feats: tuple[str, ...]) -> tuple[
        np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """Features, answerable (1) / refuse (0) labels and the rows of `suites`."""
    picked = [r for r in rows if r["suite"] in suites]
    x = np.array([[r["features"][f] for f in feats] for r in picked])
    return x, np.array([0 if r["refuse"] else 1 for r in picked]), picked


def fit(rows: list[dict[str, Any]], kind: Kind, feats: tuple[str, ...], suites: list[str]) -> Any:
    x, y, _ = design(rows, suites, feats)
    weight = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
    if kind[0] == "lr":
        model: Any = LogisticRegression(C=1.0, max_iter=2000)
    else:
        _, depth, rounds, leaf = kind
        model = HistGradientBoostingClassifier(
            max_depth=depth, max_iter=rounds, learning_rate=0.1, min_samples_leaf=leaf,
            l2_regularization=1.0, monotonic_cst=[1] * len(feats))
    model.fit(x, y, sample_weight=weight)
    return model


def threshold(rows: list[dict[str, Any]], model: Any, feats: tuple[str, ...],
              suites: list[str]) -> float:
    """The highest threshold at which no corpus of `suites` refuses more than MAX_FRR of its
    answerable questions (a question is refused below it)."""
    found = []
    for suite in suites:
        x, y, _ = design(rows, [suite], feats)
        answerable = np.sort(model.predict_proba(x)[:, 1][y == 1])
        allowed = int(np.floor(MAX_FRR * len(answerable)))
        found.append(answerable[allowed] if allowed < len(answerable) else 1.0)
    return min(found)


def judge(rows: list[dict[str, Any]], model: Any, feats: tuple[str, ...], cut: float,
          suite: str) -> str:
    x, y, picked = design(rows, [suite], feats)
    refused = model.predict_proba(x)[:, 1] < cut
    near = [refused[i] for i, r in enumerate(picked) if r["topic"] == "near-miss"]
    near_rate = f"{np.mean(near):.3f}" if near else "-"
    return f"{suite} {np.mean(refused[y == 1]):.3f}/{np.mean(refused[y == 0]):.3f}/{near_rate}"


def report(rows: list[dict[str, Any]], name: str, kind: Kind, feats: tuple[str, ...]) -> None:
    held_out, separable = [], []
    for held in DEV:
        rest = [s for s in DEV if s != held]
        model = fit(rows, kind, feats, rest)
        cut = threshold(rows, model, feats, rest)
        held_out.append(judge(rows, model, feats, cut, held))
        if held != "playbook":  # the playbook's 14 off-topic questions are all refused anyway
            x, y, _ = design(rows, [held], feats)
            p = model.predict_proba(x)[:, 1]
            own = threshold(rows, model, feats, [held])
            separable.append(f"{held} AUC {roc_auc_score(1 - y, -p):.3f} off@own "
                             f"{np.mean(p[y == 0] < own):.3f} FR@transfer "
                             f"{np.mean(p[y == 1] < cut):.3f}")
    model = fit(rows, kind, feats, list(DEV))
    cut = threshold(rows, model, feats, list(DEV))
    print(f"{name}\n  held out  {'  '.join(held_out)}\n  separable {'  '.join(separable)}")
    print(f"  dev fit   {'  '.join(judge(rows, model, feats, cut, s) for s in (*DEV, *TEST))}")


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else "/tmp/refrows.json"
    with open(path, encoding="utf-8") as handle:
        rows = [r for r in json.load(handle) if not r["rule"]]
    every = tuple(FEATURES)
    chosen = tuple(CHOSEN)
    report(rows, "logistic, frozen five", ("lr", 0, 0, 0), chosen)
    report(rows, "logistic, every feature", ("lr", 0, 0, 0), every)
    for depth in (2, 3):
        for rounds in (50, 150):
            for leaf in (10, 20):
                for label, feats in (("five", chosen), ("every", every)):
                    report(rows, f"trees depth {depth}, {rounds} rounds, leaf {leaf}, {label}",
                           ("trees", depth, rounds, leaf), feats)


if __name__ == "__main__":
    main()
