"""Check a question dataset (evals/datasets/README.md format) against its content folder.

    python -m evals.check_dataset evals/datasets/18f-handbook.jsonl \
        --content ../shared/corpora/18f-handbook/pages

Reports every problem (bad JSON, duplicate id, unknown kind, missing gold file, key points out of
range or, with --content, not found in any gold article by the metric's own content-word rule,
a split on some rows but not others) one line each, then counts per kind/topic/split.
Exit status 1 when there is a problem, so it can guard a hand edit before it is committed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

IN_SCOPE_KINDS = {"direct", "paraphrase", "situation", "multi"}
SPLITS = {"dev", "test"}


def _gold_exists(gold_id: str, content: Path, field: str) -> bool:
    """A `sources` id is a file path; an `articles` id is that path without its `.md`."""
    if field == "sources":
        return (content / gold_id).is_file()
    return (content / f"{gold_id}.md").is_file() or (content / gold_id).is_file()


def _check_in_scope(row: dict[str, Any], content: Path | None, min_points: int) -> list[str]:
    gold = row["gold"]
    problems = []
    if gold.get("refuse", False):
        problems.append("an in-scope question must have gold.refuse false")
    ids = [(f, g) for f in ("sources", "articles") for g in gold.get(f, [])]
    if not 1 <= len(ids) <= 3:
        problems.append(f"needs 1-3 gold sources/articles, has {len(ids)}")
    if len({g for _, g in ids}) != len(ids):
        problems.append("repeats a gold source")
    if content is not None:
        problems += [f"gold {g!r} is not in {content}" for f, g in ids
                     if not _gold_exists(g, content, f)]
    points = row.get("key_points", [])
    if not min_points <= len(points) <= 5:
        problems.append(f"needs {min_points}-5 key points, has {len(points)}")
    if any(not isinstance(p, str) or not p.strip() for p in points):
        problems.append("has an empty key point")
    elif content is not None and all(_gold_exists(g, content, f) for f, g in ids):
        problems += _unmatched_points(points, [_gold_path(g, content, f) for f, g in ids])
    return problems


def _gold_path(gold_id: str, content: Path, field: str) -> Path:
    path = content / gold_id
    return path if field == "sources" or path.is_file() else content / f"{gold_id}.md"


def _unmatched_points(points: Sequence[str], gold: Sequence[Path]) -> list[str]:
    """Key points that no gold article matches with the metric's own rule (stemmed content-word
    overlap, evals/metrics.py): no answer quoting the playbook could ever score them."""
    from evals.metrics import key_point_recall

    texts = [path.read_text(encoding="utf-8", errors="replace") for path in gold]
    return [f"key point {point!r} is not in its gold article(s)" for point in points
            if not any(key_point_recall(text, [point]) for text in texts)]


def _check_off_topic(row: dict[str, Any]) -> list[str]:
    gold = row["gold"]
    problems = []
    if gold.get("refuse") is not True:
        problems.append("an off-topic question must have gold.refuse true")
    if gold.get("sources") or gold.get("articles"):
        problems.append("an off-topic question has no gold sources")
    if not str(row.get("topic", "")).strip():
        problems.append("an off-topic question needs a topic")
    if row.get("key_points"):
        problems.append("an off-topic question has no key points")
    return problems


def check_row(row: Any, content: Path | None, min_points: int = 2) -> list[str]:
    """Problems with one parsed line (empty list when it is valid)."""
    if not isinstance(row, dict):
        return ["is not a JSON object"]
    missing = [k for k in ("id", "question", "kind", "gold") if k not in row]
    if missing:
        return [f"lacks {', '.join(missing)}"]
    if not isinstance(row["gold"], dict):
        return ["gold is not an object"]
    problems = [] if str(row["question"]).strip() else ["has an empty question"]
    split = row.get("split")
    if split is not None and split not in SPLITS:
        problems.append(f"split {split!r} is not dev or test")
    if row["kind"] == "off-topic":
        return problems + _check_off_topic(row)
    if row["kind"] not in IN_SCOPE_KINDS:
        return problems + [f"kind {row['kind']!r} is not one of {sorted(IN_SCOPE_KINDS)}"]
    return problems + _check_in_scope(row, content, min_points)


def check_file(
    path: Path, content: Path | None, min_points: int = 2
) -> tuple[list[str], list[Any]]:
    """All problems in a dataset file (prefixed with line and id) and the rows that parsed."""
    problems: list[str] = []
    rows: list[Any] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            problems.append(f"line {number}: not JSON ({exc})")
            continue
        rows.append(row)
        rid = row.get("id", "?") if isinstance(row, dict) else "?"
        if rid in seen:
            problems.append(f"line {number} {rid}: id already used on line {seen[rid]}")
        seen.setdefault(rid, number)
        problems += [f"line {number} {rid}: {p}" for p in check_row(row, content, min_points)]
    with_split = sum(1 for r in rows if isinstance(r, dict) and "split" in r)
    if 0 < with_split < len(rows):
        problems.append(f"{len(rows) - with_split} of {len(rows)} rows have no split")
    return problems, rows


def summary(rows: list[Any]) -> str:
    """Counts per kind (and topic for off-topic questions) and split, one line each."""
    counts: Counter[tuple[str, str]] = Counter()
    for row in rows:
        if isinstance(row, dict):
            kind = row.get("kind", "?")
            label = f"off-topic/{row.get('topic', '')}" if kind == "off-topic" else kind
            counts[(label, row.get("split", "-"))] += 1
    labels = sorted({label for label, _ in counts})
    lines = [f"{'kind':<24}{'dev':>6}{'test':>6}{'-':>6}"]
    for label in labels:
        cells = "".join(f"{counts[(label, split)]:>6}" for split in ("dev", "test", "-"))
        lines.append(f"{label:<24}{cells}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--content", type=Path, help="content folder the gold ids refer to")
    parser.add_argument("--min-key-points", type=int, default=2)
    args = parser.parse_args(argv)
    if not args.dataset.is_file():
        print(f"No dataset file at {args.dataset}.", file=sys.stderr)
        return 2
    if args.content is not None and not args.content.is_dir():
        print(f"No content folder at {args.content}.", file=sys.stderr)
        return 2
    problems, rows = check_file(args.dataset, args.content, args.min_key_points)
    for problem in problems:
        print(problem)
    print(summary(rows))
    print(f"{len(rows)} questions, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
