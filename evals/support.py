"""The support checker the answer metrics use, and the calibration of its thresholds.

`project_support` gives the evaluation suite the project's own checker (`rag.citations.supports`);
metrics computed with it are self-graded. `calibrate` chooses the checker's thresholds on the
human-labelled DEV split of evals/datasets/support.jsonl (`python -m evals.checker_eval
--calibrate`); the chosen values are frozen as the defaults of rag.settings.Settings.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from evals.metrics import SupportFn
from rag.settings import Settings

# The grid `calibrate` searches (the product of all axes).
GRID: dict[str, Sequence[float]] = {
    "embed_weight": (0.4, 0.5, 0.6, 0.7, 0.8),
    "score": tuple(round(0.30 + 0.02 * i, 2) for i in range(26)),
    "clause": (0.0, 0.2, 0.25, 0.3, 0.35, 0.4),
    "clause_terms": (2, 3, 4),
    "drift_cover": (-1.0, 0.0, 0.25, 0.34, 0.5),
}
MIN_KEPT = 0.85  # dev recall the frozen thresholds keep: a false rejection costs a fallback to the
# extractive answer, a false accept shows an unsupported claim, so the frontier point with lower
# false accepts is chosen over the 0.90 one (see rag/settings.py for the figures)


def project_support(settings: Settings) -> tuple[SupportFn, str]:
    """(support function, its name). Uses rag.citations with the index's embedder."""
    try:
        from rag.citations import Thresholds, supports
    except ImportError:  # the checker has not landed in this checkout: lexical stand-in
        return lexical_support, "lexical word overlap >= 0.7 (rag.citations missing)"
    from rag.embedder import make_embedder

    embedder = make_embedder(settings)
    limits = Thresholds.from_settings(settings)

    def check(claim: str, passage: str) -> bool:
        return bool(supports(claim, passage, embedder=embedder, thresholds=limits))

    return check, "rag.citations.supports (self-graded)"


def lexical_support(claim: str, passage: str) -> bool:
    """Stand-in checker: at least 70% of the claim's content words occur in the passage."""
    from rag.index.bm25 import tokenize

    terms = set(tokenize(claim))
    return bool(terms) and len(terms & set(tokenize(passage))) / len(terms) >= 0.7


def _rates(rows: Sequence[Mapping[str, Any]], shown: Sequence[bool]) -> tuple[float, float, float]:
    """(overall unsupported shown, worst category's unsupported shown, supported kept)."""
    from evals.checker_eval import scoreboard

    board = scoreboard(rows, shown)
    worst = max((b["unsupported_shown"] or 0.0) for k, b in board.items() if k != "overall")
    overall = board["overall"]
    return overall["unsupported_shown"] or 0.0, worst, overall["supported_kept"] or 0.0


def calibrate(rows: Sequence[Mapping[str, Any]]) -> str:
    """Grid-search the thresholds on `rows` (the DEV split) and describe the choice.

    Objective: keep at least MIN_KEPT of the supported sentences, then show as few unsupported
    ones as possible (overall plus the worst category), then keep as many supported as possible.
    """
    from rag.citations import DEFAULTS, analyse, default_embedder, judge

    if any(r.get("split") != "dev" for r in rows):
        raise ValueError("calibrate() takes DEV rows only")
    embedder = default_embedder()
    rules = replace(DEFAULTS, model="rules")  # the thresholds searched are the rules' own
    analyses = [analyse(r["sentence"], r["passage"], embedder, clause_vectors=False, tokens=False)
                for r in rows]
    labels = [r["label"] == "supported" for r in rows]
    scored = []
    for values in itertools.product(*GRID.values()):
        knobs: dict[str, Any] = dict(zip(GRID, values, strict=True))
        knobs["clause_terms"] = int(knobs["clause_terms"])
        limits = replace(rules, **knobs)
        shown = [judge(a, limits).ok(limits.score) for a in analyses]
        scored.append((limits, _rates(rows, shown)))
    current = _rates(rows, [judge(a, rules).ok(rules.score) for a in analyses])
    lines = [f"dev rows: {len(rows)} ({sum(labels)} supported)",
             "current defaults (support_model=rules): " + _describe(rules, current),
             "best per floor on supported kept (objective: overall + worst category / 2):"]
    for floor in (0.6, 0.7, 0.8, MIN_KEPT, 0.90, 0.92):
        feasible = [(lim, r) for lim, r in scored if r[2] >= floor]
        if not feasible:
            lines.append(f"  kept >= {floor:.2f}: none")
            continue
        best = min(feasible, key=lambda item: (item[1][0] + item[1][1] / 2, -item[1][2]))
        lines.append(f"  kept >= {floor:.2f}: " + _describe(*best))
    return "\n".join(lines)


def _describe(limits: Any, rates: tuple[float, float, float]) -> str:
    far, worst, kept = rates
    knobs = ", ".join(f"{k}={getattr(limits, k)}" for k in GRID)
    return (f"{knobs}: unsupported shown {100 * far:.1f}% (worst category "
            f"{100 * worst:.1f}%), supported kept {100 * kept:.1f}%")
