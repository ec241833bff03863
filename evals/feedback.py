"""Turn feedback exported from the chat page into candidate dataset lines for human review.

    playbook feedback export --out feedback.jsonl
    python -m evals.feedback feedback.jsonl --suite playbook >> candidates.jsonl

Rated-up answers become in-scope questions whose gold is the cited articles nobody marked wrong;
rated-up refusals become off-topic questions. Rated-down rows are printed with `"review"`
explaining what went wrong and an empty gold, for a person to complete. Nothing is appended to
evals/datasets/ automatically: a reviewer edits the candidates (key points, quotes) and pastes
them in.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from evals.jsonl import read_objects
from rag.errors import PlaybookError


def candidates(rows: Iterable[dict[str, Any]], suite: str) -> list[dict[str, Any]]:
    """Dataset-format candidates (see evals/datasets/README.md) from exported feedback rows."""
    out = []
    for number, row in enumerate(rows, start=1):
        if not row.get("rating"):
            continue
        good = row["rating"] == "up"
        refuse = bool(row.get("refused")) and good
        field = "sources" if suite.startswith("cwe") else "articles"
        gold: dict[str, Any] = {"refuse": refuse}
        if not refuse:
            if field == "sources":
                wrong = {w.get("source") for w in row.get("wrong_sources", [])}
                cited = [c.get("source") for c in row.get("citations", [])
                         if f"[{c.get('n')}]" in row.get("answer", "")]
                gold[field] = [s for s in dict.fromkeys(cited) if s and s not in wrong]
            else:
                gold[field] = list(row.get("expected_articles", []))
        line = {"id": f"fb-{row.get('id', number)}", "question": row["question"],
                "kind": "off-topic" if refuse else "feedback", "gold": gold, "key_points": []}
        if not good:
            line["gold"] = {"refuse": False, field: []}
            line["review"] = (f"rated down: {row.get('comment') or 'no comment'}; answer was: "
                              f"{row.get('answer', '')[:200]}")
        out.append(line)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Print candidates as JSONL on standard output."""
    parser = argparse.ArgumentParser(prog="python -m evals.feedback", description=__doc__)
    parser.add_argument("file", type=Path, help="JSONL written by `playbook feedback export`")
    parser.add_argument("--suite", default="playbook", help="playbook or cwe-playbook")
    args = parser.parse_args(argv)
    try:
        rows = read_objects(args.file)
    except PlaybookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for line in candidates(rows, args.suite):
        print(json.dumps(line, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
