"""Owners and freshness of articles: who keeps each one and whether it is past its review date.

Front matter says it (`owner`, `reviewed`, `review_every` or `review_by`, or an alias from
ALIASES such as GOV.UK Tech Docs' `last_reviewed_on` / `review_in`); ingest keeps extra
front-matter keys as chunk metadata, so nothing here re-reads article files. When the content
folder is in a git repository, each article's last commit date comes from one local
`git log --name-only` pass (no network), cached per commit of HEAD.
"""

from __future__ import annotations

import calendar
import logging
import re
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from rag.answer import Answer
from rag.settings import Settings

log = logging.getLogger("playbook.freshness")

# Canonical field -> front-matter keys that mean it, first match wins. Extend it with
# PLAYBOOK_FRONT_MATTER_ALIASES rather than editing articles.
ALIASES: dict[str, tuple[str, ...]] = {
    "owner": ("owner", "owners", "owner_slack", "maintainer", "maintainers", "steward",
              "contact", "author", "authors"),
    "reviewed": ("reviewed", "last_reviewed", "last_reviewed_on", "reviewed_on",
                 "last_review", "review_date"),
    "review_every": ("review_every", "review_in", "review_interval", "review_frequency",
                     "review_cycle"),
    "review_by": ("review_by", "next_review", "review_due", "expires", "expiry_date"),
}
GIT_TIMEOUT = 10.0  # seconds; a huge history must not hang an answer
GIT_RECHECK = 60.0  # seconds between checks that HEAD moved

_UNITS = {"day": 1, "week": 7}
_INTERVAL = re.compile(r"^\s*(\d+)\s*(day|week|month|year)s?\s*$", re.I)


@dataclass(frozen=True)
class Freshness:
    """What a content owner needs to know about one article."""

    owner: str = ""
    reviewed: date | None = None
    due: date | None = None  # review date: review_by, or reviewed + review_every
    committed: date | None = None  # last git commit touching the file

    @property
    def updated(self) -> date | None:
        """The latest sign of care: a review or a commit."""
        known = [d for d in (self.reviewed, self.committed) if d is not None]
        return max(known) if known else None

    def stale(self, today: date | None = None) -> bool:
        """True when the article is past its review date."""
        return self.due is not None and self.due < (today or date.today())


def parse_interval(text: str) -> tuple[int, int] | None:
    """"6 months" -> (6, 0) months/days pair as (months, days); None when not an interval."""
    match = _INTERVAL.match(str(text))
    if not match:
        return None
    count, unit = int(match.group(1)), match.group(2).lower()
    if unit == "year":
        return count * 12, 0
    if unit == "month":
        return count, 0
    return 0, count * _UNITS[unit]


def add_interval(start: date, interval: tuple[int, int]) -> date:
    """`start` plus (months, days); the 31st of a short month becomes its last day."""
    from datetime import timedelta

    months, days = interval
    year, month = divmod(start.month - 1 + months, 12)
    year, month = start.year + year, month + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return date(year, month, day) + timedelta(days=days)


def parse_date(value: object) -> date | None:
    """A front-matter date (YAML date, ISO date or datetime text); None when unreadable."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def _field(meta: Mapping[str, object], name: str, settings: Settings | None) -> str:
    keys = list(ALIASES[name])
    if settings is not None:
        keys = [*settings.front_matter_aliases.get(name, []), *keys]
    for key in keys:
        value = meta.get(key)
        if value not in (None, ""):
            return str(value).strip()
    return ""


def from_metadata(
    meta: Mapping[str, object], settings: Settings | None = None, committed: date | None = None
) -> Freshness:
    """Freshness from front-matter metadata (plus the git date when known)."""
    reviewed = parse_date(_field(meta, "reviewed", settings))
    due = parse_date(_field(meta, "review_by", settings))
    interval = parse_interval(_field(meta, "review_every", settings))
    if due is None and interval is not None:
        # No review date yet: count from the last commit, so new articles are not overdue.
        start = reviewed or committed
        due = add_interval(start, interval) if start else None
    owner = _field(meta, "owner", settings)
    return Freshness(owner=owner, reviewed=reviewed, due=due, committed=committed)


_git_cache: dict[Path, tuple[float, str, dict[str, date]]] = {}
_git_lock = threading.Lock()


def _git(folder: Path, *args: str) -> str:
    import os

    done = subprocess.run(
        ["git", "-c", "core.quotePath=false", "-C", str(folder), *args], capture_output=True,
        text=True, timeout=GIT_TIMEOUT, check=True,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"},
    )
    return done.stdout


def git_dates(content_dir: Path) -> dict[str, date]:
    """Last commit date of every file under `content_dir` (paths relative to it); {} when the
    folder is not in a git repository or git fails. One `git log` pass, cached per HEAD."""
    folder = content_dir.resolve()
    now = time.monotonic()
    with _git_lock:
        cached = _git_cache.get(folder)
        if cached and now - cached[0] < GIT_RECHECK:
            return cached[2]
    try:
        head = _git(folder, "rev-parse", "HEAD").strip()
        if cached and cached[1] == head:
            dates = cached[2]
        else:
            out = _git(folder, "log", "--format=%x00%cI", "--name-only", "--relative", "--", ".")
            dates = _parse_log(out)
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("no git dates for %s: %s", folder, exc)
        head, dates = "", {}
    with _git_lock:
        _git_cache[folder] = (now, head, dates)
    return dates


def _parse_log(out: str) -> dict[str, date]:
    """Newest commit first: the first date seen for a path is its last commit."""
    dates: dict[str, date] = {}
    current: date | None = None
    for line in out.splitlines():
        if line.startswith("\x00"):
            current = datetime.fromisoformat(line[1:]).astimezone(UTC).date()
        elif line.strip() and current is not None:
            dates.setdefault(line.strip(), current)
    return dates


def article_freshness(meta: Mapping[str, object], source: str, settings: Settings) -> Freshness:
    """Freshness of the article at `source` (relative to the content folder)."""
    dates = git_dates(settings.content_path) if settings.git_dates else {}
    return from_metadata(meta, settings, dates.get(source))


STALE_NOTICE = (
    "Every passage this answer rests on is past its review date: check with the article's owner."
)


def annotate(answer: Answer, settings: Settings) -> None:
    """Fill `owner`, `updated` and `stale` on each citation; add a notice when every passage
    the answer cites is stale. Metadata comes from the live index's chunks."""
    from rag.index import load_index

    if not answer.citations:
        return
    chunks = load_index(settings).chunks
    today = date.today()
    for cite in answer.citations:
        chunk = chunks.get(cite.chunk_ids[0]) if cite.chunk_ids else None
        if chunk is None:
            continue
        fresh = article_freshness(chunk.metadata, cite.source, settings)
        cite.owner = fresh.owner
        cite.updated = fresh.updated.isoformat() if fresh.updated else ""
        cite.stale = fresh.stale(today)
    cited = [c for c in answer.citations if f"[{c.n}]" in answer.answer]
    if not answer.refused and cited and all(c.stale for c in cited):
        answer.notice = f"{answer.notice} {STALE_NOTICE}".strip()


def stale_articles(settings: Settings, today: date | None = None) -> list[dict[str, object]]:
    """Articles past their review date, most-cited first (citation counts from the question
    log), then longest overdue."""
    from rag.index import load_index
    from rag.questionlog import QuestionLog

    today = today or date.today()
    counts = QuestionLog(settings.index_path).citation_counts()
    found: list[tuple[int, int, str, dict[str, object]]] = []
    for article_id, chunks in load_index(settings).by_article.items():
        first = chunks[0]
        fresh = article_freshness(first.metadata, first.source, settings)
        if fresh.due is None or not fresh.stale(today):
            continue
        overdue, cited = (today - fresh.due).days, counts.get(article_id, 0)
        found.append((-cited, -overdue, first.source, {
            "article_id": article_id, "title": first.title, "source": first.source,
            "owner": fresh.owner, "due": fresh.due.isoformat(), "days_overdue": overdue,
            "updated": fresh.updated.isoformat() if fresh.updated else "", "citations": cited,
        }))
    return [item for *_key, item in sorted(found, key=lambda f: f[:3])]


def print_stale(articles: list[dict[str, object]]) -> None:
    """A rich table of overdue articles."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not articles:
        console.print("No article is past its review date.")
        return
    table = Table(title="Articles past their review date, most-cited first")
    for name in ("Article", "Owner", "Due", "Overdue", "Cited"):
        table.add_column(name, justify="right" if name in ("Overdue", "Cited") else "left")
    for a in articles:
        table.add_row(f"{a['title']}\n[dim]{a['source']}[/dim]", str(a["owner"] or "—"),
                      str(a["due"]), f"{a['days_overdue']} d", str(a["citations"]))
    console.print(table)
