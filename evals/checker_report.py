"""The report's "Citation checker (human labels)" section and the gate's checker checks.

The figures come from `evals.checker_eval.run` (rag.citations graded against the labelled
sentences of evals/datasets/support.jsonl, dev and test splits); they are put in
`results["checker"]` as {split: {category: {unsupported_shown, supported_kept, ...}}}.
Gate keys read "checker.<split>.<category>.<metric>", e.g. "checker.test.overall.supported_kept".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

COLUMNS = ("rows", "unsupported", "unsupported_shown", "supported", "supported_kept")


def add_checker(results: dict[str, Any]) -> dict[str, Any]:
    """results["checker"], computed now when missing (or {} when the labels are absent)."""
    if "checker" not in results:
        from evals.checker_eval import DATA, run

        results["checker"] = run() if DATA.is_file() else {}
    return results["checker"]


def flatten_checker(results: Mapping[str, Any]) -> dict[str, float]:
    """The checker figures under their gate keys (None values left out)."""
    flat: dict[str, float] = {}
    for split, board in results.get("checker", {}).items():
        for category, row in board.items():
            for metric in ("unsupported_shown", "supported_kept"):
                if row.get(metric) is not None:
                    flat[f"checker.{split}.{category}.{metric}"] = float(row[metric])
    return flat


def checker_section(results: Mapping[str, Any]) -> str:
    """Markdown: one table per split, categories as rows (a pointer to the command when
    `results` lacks them: a one-suite run)."""
    from evals.report import table

    text = ["## Citation checker (human labels)",
            "`rag.citations.supports` graded against sentences a person labelled supported or "
            "unsupported by their passage (`evals/datasets/support.jsonl`). *unsupported_shown* "
            "= share of unsupported sentences the checker verifies (false accepts: lower is "
            "better); *supported_kept* = share of supported sentences it verifies (higher is "
            "better). Thresholds were calibrated on the dev split only; test is reported, never "
            "tuned on. Reproduce with `python -m evals.checker_eval`. The citation recall / "
            "precision in the answer tables above are **self-graded** (the same checker judges "
            "its own answerer's citations)."]
    if "checker" not in results:
        text.append("_Not graded in a one-suite run: `playbook eval` (all suites) or "
                    "`python -m evals.checker_eval` grades it._")
        return "\n\n".join(text)
    boards = results["checker"]
    if not boards:
        text.append("_No labelled support set found (evals/datasets/support.jsonl)._")
    for split, board in boards.items():
        text += [f"### {split} split", table(board, COLUMNS, "category")]
    return "\n\n".join(text)
