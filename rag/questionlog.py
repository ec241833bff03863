"""The question log, in SQLite beside the index (`<index dir>/questions.sqlite3`).

One row per answered or refused question: its text, time, refused or answered, the relevance
ratio the refusal decision used, the top articles, the articles the answer cites, the answerer
and, once given, the thumbs up/down with the id of its feedback row (rag/feedback.py). No
personal data: a user name is stored only with PLAYBOOK_LOG_USER and PLAYBOOK_AUTH set.
On by default for `playbook serve` (see `serving`), off for the other commands unless
PLAYBOOK_LOG_QUESTIONS=true. Rows older than PLAYBOOK_LOG_RETENTION_DAYS are deleted.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rag.answer import Answer
from rag.errors import PlaybookError
from rag.feedback import open_sqlite
from rag.settings import Settings

FILENAME = "questions.sqlite3"
NOTICE = "Questions asked here are logged (text, time, sources; no names) to improve the playbook."
TOP_ARTICLES = 3

log = logging.getLogger("playbook.questionlog")

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS questions (
    id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    question TEXT NOT NULL,
    query TEXT NOT NULL DEFAULT '',
    refused INTEGER NOT NULL,
    relevance REAL,
    top_articles TEXT NOT NULL DEFAULT '[]',
    cited TEXT NOT NULL DEFAULT '[]',
    answerer TEXT NOT NULL DEFAULT '',
    user TEXT NOT NULL DEFAULT '',
    rating INTEGER,
    feedback_id TEXT
)""",
    "CREATE INDEX IF NOT EXISTS questions_created ON questions (created)",
)


def _now() -> datetime:
    return datetime.now(UTC)


def serving(settings: Settings) -> Settings:
    """Settings for `playbook serve`: the log is on unless PLAYBOOK_LOG_QUESTIONS says no."""
    if settings.log_questions is None:
        return settings.model_copy(update={"log_questions": True})
    return settings


def notice(settings: Settings) -> str:
    """The line the page shows under the question box ("" when nothing is logged)."""
    if not settings.log_questions:
        return ""
    if settings.log_user and settings.auth is not None:
        return NOTICE.replace("no names", "with your user name")
    return NOTICE


class QuestionLog:
    """Reads and writes logged questions; thread-safe (one connection per call)."""

    def __init__(self, index_dir: Path) -> None:
        self.path = Path(index_dir) / FILENAME

    def _connect(self) -> sqlite3.Connection:
        return open_sqlite(self.path, list(_SCHEMA), "question log")

    def record(
        self, answer: Answer, relevance: float | None, *, user: str = "",
        retention_days: int | None = None, when: datetime | None = None,
    ) -> str:
        """Add one row for an answer; deletes rows past the retention. Returns the row id."""
        row_id = uuid.uuid4().hex
        created = when or _now()
        top = list(dict.fromkeys(c.article_id for c in answer.citations))[:TOP_ARTICLES]
        cited = [] if answer.refused else list(dict.fromkeys(
            c.article_id for c in answer.citations if f"[{c.n}]" in answer.answer
        ))
        with closing(self._connect()) as conn, conn:
            conn.execute(
                "INSERT INTO questions (id, created, question, query, refused, relevance,"
                " top_articles, cited, answerer, user) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (row_id, created.isoformat(timespec="seconds"), answer.question, answer.query,
                 int(answer.refused), None if relevance is None else round(relevance, 4),
                 json.dumps(top), json.dumps(cited), answer.answerer, user),
            )
            if retention_days is not None:
                cutoff = (_now() - timedelta(days=retention_days)).isoformat(timespec="seconds")
                conn.execute("DELETE FROM questions WHERE created < ?", (cutoff,))
        return row_id

    def link_feedback(self, feedback_id: str, question: str, rating: int | None) -> bool:
        """Attach a thumbs up/down (and its feedback row id) to the latest logged row of this
        question that has no other feedback yet. Returns whether a row was found."""
        with closing(self._connect()) as conn, conn:
            found = conn.execute(
                "SELECT id FROM questions WHERE question = ? AND"
                " (feedback_id IS NULL OR feedback_id = ?)"
                " ORDER BY created DESC, rowid DESC LIMIT 1",
                (question, feedback_id),
            ).fetchone()
            if found is None:
                return False
            conn.execute(
                "UPDATE questions SET feedback_id = ?, rating = ? WHERE id = ?",
                (feedback_id, rating or None, found["id"]),
            )
        return True

    def rows(self, since_days: float | None = None) -> Iterator[dict[str, Any]]:
        """Rows, oldest first (only the last `since_days` days when given), JSON decoded."""
        if not self.path.exists():
            return
        cutoff = "" if since_days is None else (
            _now() - timedelta(days=since_days)).isoformat(timespec="seconds")
        with closing(self._connect()) as conn:
            found = conn.execute(
                "SELECT * FROM questions WHERE created >= ? ORDER BY created, rowid", (cutoff,)
            ).fetchall()
        for row in found:
            item = dict(row)
            item["refused"] = bool(item["refused"])
            item["top_articles"] = json.loads(item["top_articles"])
            item["cited"] = json.loads(item["cited"])
            yield item

    def citation_counts(self, since_days: float | None = None) -> Counter[str]:
        """How many logged answers cited each article."""
        counts: Counter[str] = Counter()
        for row in self.rows(since_days):
            counts.update(row["cited"])
        return counts


def _user(settings: Settings) -> str:
    if not settings.log_user or settings.auth is None:
        return ""
    return settings.auth.get_secret_value().partition(":")[0]


def log_question(answer: Answer, relevance: float | None, settings: Settings) -> None:
    """Log an answer when PLAYBOOK_LOG_QUESTIONS is on; a failing log never fails the answer."""
    if not settings.log_questions:
        return
    try:
        QuestionLog(settings.index_path).record(
            answer, relevance, user=_user(settings), retention_days=settings.log_retention_days
        )
    except (PlaybookError, sqlite3.Error, OSError) as exc:
        log.warning("question not logged: %s", exc)
