"""Feedback on answers, kept in SQLite beside the index (`<index dir>/feedback.sqlite3`).

One row per answer: the question, the answer and its citations as shown, a thumbs up/down, an
optional comment and the citations marked "this source is wrong". The chat page writes rows;
`playbook feedback export` turns them into JSONL the evaluation suite can take as candidate cases.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from rag.errors import PlaybookError

FILENAME = "feedback.sqlite3"
MAX_COMMENT_CHARS = 2000  # the default of Settings.feedback_comment_chars

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    question TEXT NOT NULL,
    query TEXT NOT NULL DEFAULT '',
    answer TEXT NOT NULL,
    answerer TEXT NOT NULL DEFAULT '',
    refused INTEGER NOT NULL DEFAULT 0,
    citations TEXT NOT NULL DEFAULT '[]',
    rating INTEGER,
    comment TEXT NOT NULL DEFAULT '',
    wrong_citations TEXT NOT NULL DEFAULT '[]'
)
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def open_sqlite(path: Path, schema: list[str], what: str) -> sqlite3.Connection:
    """A connection to the SQLite file beside the index, its tables created if missing
    (rows as sqlite3.Row); one sentence naming `what` and the file when it cannot be opened."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(path, timeout=10)
        for statement in schema:
            conn.execute(statement)
    except sqlite3.Error as exc:
        raise PlaybookError(f"The {what} {path} cannot be opened ({exc}).") from exc
    conn.row_factory = sqlite3.Row
    return conn


class FeedbackError(PlaybookError):
    """Feedback that cannot be saved as given (too long a comment, bad marks)."""


class FeedbackStore:
    """Reads and writes feedback rows; thread-safe (one connection per call).

    A comment longer than `max_comment_chars` is refused with a sentence rather than stored: the
    page is open to anyone who can reach it, and rows are exported into eval candidates."""

    def __init__(self, index_dir: Path, max_comment_chars: int = MAX_COMMENT_CHARS) -> None:
        self.path = Path(index_dir) / FILENAME
        self.max_comment_chars = max_comment_chars

    def _connect(self) -> sqlite3.Connection:
        return open_sqlite(self.path, [_SCHEMA], "feedback database")

    def record(
        self,
        answer_id: str,
        answer: dict[str, Any],
        *,
        rating: int | None = None,
        comment: str | None = None,
        wrong: Iterable[int] | None = None,
    ) -> None:
        """Create or update the row for one answer (an `Answer.to_json()` dict).

        Only the feedback fields that are given change: a thumbs up and a later comment on the same
        answer end up in one row. `rating` is 1 (up), -1 (down) or 0 (cleared). A comment over
        the store's cap or marks that are not citation numbers raise FeedbackError.
        """
        comment = comment.strip() if comment is not None else None
        if comment is not None and len(comment) > self.max_comment_chars:
            raise FeedbackError(
                f"Comments are limited to {self.max_comment_chars:,} characters (this one has "
                f"{len(comment):,}): please shorten it."
            )
        marks = _marks(wrong) if wrong is not None else None
        now = _now()
        with closing(self._connect()) as conn, conn:
            conn.execute(
                "INSERT INTO feedback (id, created, updated, question, query, answer, answerer,"
                " refused, citations) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(id) DO NOTHING",
                (
                    answer_id, now, now, str(answer.get("question", "")),
                    str(answer.get("query", "")), str(answer.get("answer", "")),
                    str(answer.get("answerer", "")), int(bool(answer.get("refused"))),
                    json.dumps(answer.get("citations", []), ensure_ascii=False),
                ),
            )
            if rating is not None:
                conn.execute(
                    "UPDATE feedback SET rating = ?, updated = ? WHERE id = ?",
                    (rating or None, now, answer_id),
                )
            if comment is not None:
                conn.execute(
                    "UPDATE feedback SET comment = ?, updated = ? WHERE id = ?",
                    (comment, now, answer_id),
                )
            if marks is not None:
                conn.execute(
                    "UPDATE feedback SET wrong_citations = ?, updated = ? WHERE id = ?",
                    (json.dumps(marks), now, answer_id),
                )

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every row, oldest first, with JSON columns decoded."""
        if not self.path.exists():
            return
        with closing(self._connect()) as conn:
            for row in conn.execute("SELECT * FROM feedback ORDER BY created, id").fetchall():
                item = dict(row)
                item["citations"] = json.loads(item["citations"])
                item["wrong_citations"] = json.loads(item["wrong_citations"])
                item["refused"] = bool(item["refused"])
                yield item

    def export(self, out: TextIO) -> int:
        """Write one JSON object per line (see `candidate_case`); returns the number written."""
        count = 0
        for row in self.rows():
            out.write(json.dumps(candidate_case(row), ensure_ascii=False) + "\n")
            count += 1
        return count


def _marks(wrong: Iterable[Any]) -> list[int]:
    """Citation numbers marked wrong: small positive integers only, at most 100 of them."""
    items = list(wrong)
    if len(items) > 100 or not all(
        isinstance(n, int) and not isinstance(n, bool) and 0 < n <= 1000 for n in items
    ):
        raise FeedbackError("Marked sources must be citation numbers shown with the answer.")
    return sorted(set(items))


def candidate_case(row: dict[str, Any]) -> dict[str, Any]:
    """A feedback row as a candidate evaluation case.

    `expected_articles` holds the articles of the cited sources nobody marked wrong, and is filled
    only for answers rated up; a person reviews candidates before they join a dataset.
    """
    wrong = set(row["wrong_citations"])
    cited = [c for c in row["citations"] if f"[{c.get('n')}]" in row["answer"]]
    good = [c for c in cited if c.get("n") not in wrong]
    rating = {1: "up", -1: "down"}.get(row["rating"] or 0)
    expected: list[str] = []
    if rating == "up":
        expected = list(dict.fromkeys(str(c.get("article_id")) for c in good))
    return {
        "id": row["id"],
        "question": row["question"],
        "query": row["query"],
        "rating": rating,
        "comment": row["comment"],
        "refused": row["refused"],
        "answer": row["answer"],
        "answerer": row["answerer"],
        "expected_articles": expected,
        "wrong_sources": [
            {k: c.get(k) for k in ("n", "article_id", "title", "heading", "source")}
            for c in row["citations"] if c.get("n") in wrong
        ],
        "citations": row["citations"],
        "created": row["created"],
        "updated": row["updated"],
    }
