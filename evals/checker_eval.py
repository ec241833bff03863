"""The citation checker graded by human labels (evals/datasets/support.jsonl).

    python -m evals.checker_eval [--split dev|test] [--json] [--data FILE]
    python -m evals.checker_eval --calibrate        # grid search on the DEV split only
    python -m evals.checker_eval --rules            # also grade the hand-set rules alone
    python -m evals.checker_eval --learned          # also grade the learned model
    python -m evals.checker_eval --baseline         # also grade the checker this one replaced
    python -m evals.checker_eval --nli [--split ..] # also grade an installed NLI model, if any

Each row pairs a passage with a sentence a person labelled `supported` or `unsupported` and a
category (verbatim, paraphrase, summary, partial, invention, reversal, changed-fact, copy-drift,
misattribution, filler). Per category and overall it prints

- unsupported shown: share of unsupported sentences the checker verifies (false accepts; lower is
  better), and
- supported kept: share of supported sentences the checker verifies (recall; higher is better).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from evals.jsonl import read_objects
from rag.errors import PlaybookError

DATA = Path(__file__).resolve().parent / "datasets" / "support.jsonl"
Row = Mapping[str, Any]


def load_rows(path: Path = DATA, split: str | None = None) -> list[dict[str, Any]]:
    """The labelled rows (of one split when given); a clear error when the file is unusable."""
    try:
        rows = read_objects(path)
    except PlaybookError as exc:
        raise PlaybookError(f"Cannot read the labelled support set: {exc}") from exc
    wanted = [r for r in rows if split is None or r.get("split") == split]
    for row in wanted:
        if row.get("label") not in ("supported", "unsupported") or not row.get("passage"):
            raise PlaybookError(f"Row {row.get('id', '?')} of {path} lacks a passage or label.")
    return wanted


def scoreboard(rows: Sequence[Row], verdicts: Sequence[bool]) -> dict[str, dict[str, Any]]:
    """Per category, overall, then per corpus ("corpus:NAME", overall rows of one corpus):
    counts, unsupported shown (false accepts), supported kept."""
    groups: dict[str, list[tuple[Row, bool]]] = {}
    for row, shown in zip(rows, verdicts, strict=True):
        groups.setdefault(row["category"], []).append((row, shown))
        groups.setdefault("overall", []).append((row, shown))
        if row.get("corpus"):
            groups.setdefault(f"corpus:{row['corpus']}", []).append((row, shown))
    board = {}
    for name in sorted(groups, key=lambda g: (g.startswith("corpus:"), g == "overall", g)):
        pairs = groups[name]
        bad = [shown for row, shown in pairs if row["label"] == "unsupported"]
        good = [shown for row, shown in pairs if row["label"] == "supported"]
        board[name] = {
            "rows": len(pairs), "unsupported": len(bad), "supported": len(good),
            "unsupported_shown": sum(bad) / len(bad) if bad else None,
            "supported_kept": sum(good) / len(good) if good else None,
        }
    return board


def project_verdicts(rows: Sequence[Row], embedder: Any = None, model: str = "") -> list[bool]:
    """rag.citations.supports on every row, with the default (frozen) thresholds (`model`:
    "learned" or "rules" instead of the default decision)."""
    from dataclasses import replace

    from rag.citations import DEFAULTS, default_embedder, supports

    limits = replace(DEFAULTS, model=model) if model else DEFAULTS
    embedder = embedder if embedder is not None else default_embedder()
    return [supports(r["sentence"], r["passage"], embedder, thresholds=limits) for r in rows]


def rules_verdicts(rows: Sequence[Row]) -> list[bool]:
    """The checker with its hand-set rules deciding past the vetoes (support_model=rules)."""
    return project_verdicts(rows, model="rules")


def learned_verdicts(rows: Sequence[Row]) -> list[bool]:
    """The checker with its learned model (rag/support_model.py) deciding past the vetoes."""
    return project_verdicts(rows, model="learned")


def baseline_verdicts(rows: Sequence[Row]) -> list[bool]:
    """The checker this one replaced (for comparison): 0.5 x best MiniLM cosine to one passage
    sentence + 0.5 x content-word overlap >= 0.57, the whole sentence at once, no rules."""
    from rag.citations import VECTORS, default_embedder
    from rag.text import overlap, plain, strip_citations, units

    embedder = default_embedder()
    verdicts = []
    for row in rows:
        claim = plain(strip_citations(row["sentence"]))
        parts = [u.text for u in units(row["passage"])] or [row["passage"]]
        matrix = VECTORS.encode([claim, *parts], embedder)
        similarity = float((matrix[1:] @ matrix[0]).max())
        verdicts.append(0.5 * similarity + 0.5 * overlap(claim, row["passage"]) >= 0.57)
    return verdicts


def format_board(board: Mapping[str, Mapping[str, Any]], title: str) -> str:
    """A plain-text table of a scoreboard."""
    def pct(value: float | None) -> str:
        return "   –  " if value is None else f"{100 * value:5.1f}%"

    lines = [title, f"{'category':<25}{'rows':>5}{'unsup':>6}{'shown':>8}{'sup':>5}{'kept':>8}"]
    for name, b in board.items():
        lines.append(f"{name:<25}{b['rows']:>5}{b['unsupported']:>6}{pct(b['unsupported_shown']):>8}"
                     f"{b['supported']:>5}{pct(b['supported_kept']):>8}")
    return "\n".join(lines)


def run(data: Path = DATA, splits: Iterable[str] = ("dev", "test"),
        verdicts: Callable[[Sequence[Row]], list[bool]] = project_verdicts,
        ) -> dict[str, dict[str, dict[str, Any]]]:
    """{split: scoreboard} for the project's checker (or another verdict function)."""
    return {split: scoreboard(rows, verdicts(rows))
            for split in splits if (rows := load_rows(data, split))}


def mistakes(rows: Sequence[Row], verdicts: Sequence[bool]) -> list[str]:
    """One line per row the checker gets wrong (for reading, on the dev split)."""
    from rag.citations import support_score

    lines = []
    for row, shown in zip(rows, verdicts, strict=True):
        if shown != (row["label"] == "supported"):
            support = support_score(row["sentence"], row["passage"])
            lines.append(f"{row['id']} {row['category']:<15} {'SHOWN' if shown else 'LOST '} "
                         f"score={support.score:.2f} reason={support.reason or '-'} "
                         f"novel={support.novel} :: {row['sentence']}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m evals.checker_eval`."""
    parser = argparse.ArgumentParser(prog="python -m evals.checker_eval", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=("dev", "test"), help="one split (default: both)")
    parser.add_argument("--data", type=Path, default=DATA, help="labelled JSONL file")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--errors", action="store_true", help="list the rows it gets wrong")
    parser.add_argument("--calibrate", action="store_true",
                        help="grid-search the thresholds on the DEV split and print the best")
    parser.add_argument("--rules", action="store_true",
                        help="also grade the checker with its hand-set rules deciding")
    parser.add_argument("--learned", action="store_true",
                        help="also grade the checker with its learned model deciding")
    parser.add_argument("--baseline", action="store_true",
                        help="also grade the previous checker (similarity + overlap >= 0.57)")
    parser.add_argument("--nli", action="store_true",
                        help="also grade the NLI model of evals/nli.py, when installed")
    args = parser.parse_args(argv)
    try:
        if args.calibrate:
            from evals.support import calibrate

            print(calibrate(load_rows(args.data, "dev")))
            return 0
        splits = [args.split] if args.split else ["dev", "test"]
        from rag.citations import DEFAULTS

        boards = {f"checker (default: {DEFAULTS.model})": run(args.data, splits)}
        if args.rules:
            boards["checker with the hand-set rules"] = run(args.data, splits, rules_verdicts)
        if args.learned:
            boards["checker with the learned model"] = run(args.data, splits, learned_verdicts)
        if args.baseline:
            boards["previous checker (0.5 sim + 0.5 overlap >= 0.57)"] = run(
                args.data, splits, baseline_verdicts)
        if args.nli:
            from evals.nli import nli_verdicts

            boards["NLI model"] = run(args.data, splits, nli_verdicts)
    except PlaybookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(boards, indent=1))
        return 0
    for name, by_split in boards.items():
        for split, board in by_split.items():
            print(format_board(board, f"== {name}, {split} split ({args.data.name})") + "\n")
    if args.errors:
        for split in splits:
            rows = load_rows(args.data, split)
            print(f"== mistakes, {split}\n" + "\n".join(mistakes(rows, project_verdicts(rows))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
