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
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from evals.calibrate_refusal import CHOSEN, DEV, TEST, choose_threshold, fit, predict, rates
from rag.answerability import FEATURES

MAX_FRR = 0.05
Row = dict[str, Any]
Scorer = Callable[[Row], float]  # a fitted model: row -> P(answerable)
Kind = tuple[str, int, int, int]  # ("logistic", 0, 0, 0) or ("trees", depth, rounds, min leaf)


def trained(rows: list[Row], kind: Kind, feats: tuple[str, ...]) -> Scorer:
    """The logistic model calibrate_refusal fits (the shipped kind), or class-balanced trees
    monotone increasing in every feature."""
    if kind[0] == "logistic":
        model = fit(rows, feats)
        return lambda row: predict(model, row)
    _, depth, rounds, leaf = kind
    x = np.array([[r["features"][f] for f in feats] for r in rows])
    y = np.array([0 if r["refuse"] else 1 for r in rows])
    trees = HistGradientBoostingClassifier(
        max_depth=depth, max_iter=rounds, learning_rate=0.1, min_samples_leaf=leaf,
        l2_regularization=1.0, monotonic_cst=[1] * len(feats))
    trees.fit(x, y, sample_weight=np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean())))
    return lambda row: float(trees.predict_proba([[row["features"][f] for f in feats]])[0, 1])


def figures(rows: list[Row], score: Scorer, cut: float, suite: str) -> str:
    picked = [r for r in rows if r["suite"] == suite]
    got = rates(picked, [score(r) for r in picked], cut)

    def share(key: str) -> str:
        value = got[key][0]
        return "-" if value is None else f"{value:.3f}"

    return (f"{suite} {share('false_refusal')}/{share('off_topic_refused')}/"
            f"{share('near_miss_refused')}")


def report(rows: list[Row], name: str, kind: Kind, feats: tuple[str, ...]) -> None:
    held_out, separable = [], []
    for held in DEV:
        rest = [r for r in rows if r["suite"] in DEV and r["suite"] != held]
        score = trained(rest, kind, feats)
        cut = choose_threshold(rest, [score(r) for r in rest], MAX_FRR)
        held_out.append(figures(rows, score, cut, held))
        if held != "playbook":  # the playbook's 14 off-topic questions are all refused anyway
            mine = [r for r in rows if r["suite"] == held]
            scores = [score(r) for r in mine]
            own = choose_threshold(mine, scores, MAX_FRR)  # hindsight: the best it could do
            separable.append(f"{held} AUC {rates(mine, scores, cut)['auc']:.3f} off@own "
                             f"{rates(mine, scores, own)['off_topic_refused'][0]:.3f} "
                             f"FR@transfer {rates(mine, scores, cut)['false_refusal'][0]:.3f}")
    dev = [r for r in rows if r["suite"] in DEV]
    score = trained(dev, kind, feats)
    cut = choose_threshold(dev, [score(r) for r in dev], MAX_FRR)
    print(f"{name}\n  held out  {'  '.join(held_out)}\n  separable {'  '.join(separable)}")
    print(f"  dev fit   {'  '.join(figures(rows, score, cut, s) for s in (*DEV, *TEST))}")


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else "/tmp/refrows.json"
    with open(path, encoding="utf-8") as handle:
        rows = [r for r in json.load(handle) if not r["rule"]]
    every = tuple(FEATURES)
    chosen = tuple(CHOSEN)
    report(rows, "logistic, frozen five", ("logistic", 0, 0, 0), chosen)
    report(rows, "logistic, every feature", ("logistic", 0, 0, 0), every)
    for depth in (2, 3):
        for rounds in (50, 150):
            for leaf in (10, 20):
                for label, feats in (("five", chosen), ("every", every)):
                    report(rows, f"trees depth {depth}, {rounds} rounds, leaf {leaf}, {label}",
                           ("trees", depth, rounds, leaf), feats)


if __name__ == "__main__":
    main()
