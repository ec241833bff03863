"""Fit the citation checker's learned combiner (rag/support_model.py) on the DEV split.

    python -m evals.checker_fit [--l2 3.0] [--min-kept 0.85]

A class-balanced, L2-regularised logistic regression (evals/calibrate_refusal.fit) over the
signals `rag.support.features` measures (the word alignment of rag/token_align.py included:
MiniLM per-token vectors, ~1 min for both splits here), on the DEV rows of
evals/datasets/support.jsonl only; rows a rule vetoes are rejected whatever the model says.
The threshold is the highest one that keeps at least --min-kept of the dev supported
sentences. Prints the constants to freeze in rag/support_model.py and rag/settings.py, the dev
figures (in-sample and 5-fold cross-validated at that threshold) and, for the report only, the
test figures. Never tune on test.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Sequence
from typing import Any

from evals.calibrate_refusal import fit
from evals.checker_eval import format_board, load_rows, scoreboard
from rag import support_model, token_align

Row = dict[str, Any]
MIN_KEPT = 0.85  # as evals/support.py: a wrong drop costs a fallback, a wrong accept a false claim


def measure(rows: Sequence[Row]) -> list[Row]:
    """Each row with its features, its veto ("" when none) and `refuse` (= unsupported)."""
    from rag.support import analyse, default_embedder, features, veto

    embedder = default_embedder()
    out = []
    for row in rows:
        analysis = analyse(row["sentence"], row["passage"], embedder, clause_vectors=True,
                           tokens=True)
        # filler is vetoed before anything is measured: neutral alignment, never shown
        measured = {**token_align.NEUTRAL, **features(analysis)}
        out.append({**row, "features": measured, "veto": veto(analysis),
                    "refuse": row["label"] != "supported"})
    return out


def verdicts(rows: Sequence[Row], model: tuple[dict[str, float], float], t: float) -> list[bool]:
    """Shown (verified) per row under a model and threshold."""
    weights, intercept = model
    return [not r["veto"] and support_model.probability(r["features"], weights, intercept) >= t
            for r in rows]


def threshold(rows: Sequence[Row], model: tuple[dict[str, float], float], min_kept: float) -> float:
    """The highest threshold (0.01 steps) keeping `min_kept` of the supported rows."""
    for step in range(99, 0, -1):
        board = scoreboard(rows, verdicts(rows, model, step / 100))
        if (board["overall"]["supported_kept"] or 0.0) >= min_kept:
            return step / 100
    return 0.01


def cross_validated(rows: Sequence[Row], l2: float, t: float, folds: int = 5) -> list[bool]:
    """Out-of-fold verdicts at a fixed threshold (each fold scored by a model fitted without it;
    folds stratified by label, seeded)."""
    order = list(range(len(rows)))
    random.Random(0).shuffle(order)
    order.sort(key=lambda i: rows[i]["refuse"])
    shown = [False] * len(rows)
    for k in range(folds):
        held = set(order[k::folds])
        model = fit([r for i, r in enumerate(rows) if i not in held], support_model.FEATURES, l2)
        for i in held:
            shown[i] = verdicts([rows[i]], model, t)[0]
    return shown


def main(argv: Sequence[str] | None = None) -> int:
    """Fit on dev, print the constants and the figures."""
    parser = argparse.ArgumentParser(prog="python -m evals.checker_fit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--l2", type=float, default=3.0)
    parser.add_argument("--min-kept", type=float, default=MIN_KEPT)
    args = parser.parse_args(argv)
    dev, test = measure(load_rows(split="dev")), measure(load_rows(split="test"))
    model = fit(dev, support_model.FEATURES, args.l2)
    t = threshold(dev, model, args.min_kept)
    weights = ", ".join(f'"{k}": {v:.4g}' for k, v in model[0].items())
    print(f"WEIGHTS = {{{weights}}}\nINTERCEPT = {model[1]:.4g}\n"
          f"support_learned_threshold = {t}\n")
    print(format_board(scoreboard(dev, verdicts(dev, model, t)), "== dev, in-sample") + "\n")
    print(format_board(scoreboard(dev, cross_validated(dev, args.l2, t)),
                       "== dev, 5-fold cross-validated") + "\n")
    print(format_board(scoreboard(test, verdicts(test, model, t)), "== test (report only)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
