"""Reading the JSON-lines files of evals/ (datasets, labels, BEIR corpora, feedback exports).

One reader, so that every file names its first bad line the same way, in one sentence.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rag.errors import PlaybookError


def read_objects(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSONL file, blank lines skipped. PlaybookError names the file and
    the first line that is not a JSON object, or why the file cannot be read."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise PlaybookError(f"Cannot read {path} ({reason}).") from exc
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PlaybookError(f"{path.name} line {number}: not valid JSON ({exc.msg}).") from exc
        if not isinstance(row, dict):
            raise PlaybookError(f"{path.name} line {number}: not a JSON object.")
        rows.append(row)
    return rows
