"""The "updated 3 months ago · owner" line of a source card, and its stale mark."""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Any


def ago(when: date, today: date | None = None) -> str:
    """'today', '5 days ago', '3 months ago', '2 years ago'."""
    days = ((today or date.today()) - when).days
    if days <= 0:
        return "today"
    for size, unit in ((365, "year"), (30, "month"), (7, "week"), (1, "day")):
        if days >= size:
            count = days // size
            return f"{count} {unit}{'s' if count > 1 else ''} ago"
    return "today"  # unreachable: days >= 1 matches the last unit


def freshness_html(cite: dict[str, Any], today: date | None = None) -> str:
    """The freshness line of one citation ("" when nothing is known about it)."""
    parts = []
    updated = str(cite.get("updated") or "")
    if updated:
        try:
            parts.append(f'updated {ago(date.fromisoformat(updated), today)}')
        except ValueError:
            pass
    owner = str(cite.get("owner") or "")
    if owner:
        parts.append(escape(owner))
    stale = bool(cite.get("stale"))
    if stale:
        parts.append('<span class="pb-stale-mark">past its review date</span>')
    if not parts:
        return ""
    title = f' title="last reviewed or changed {escape(updated)}"' if updated else ""
    css = "pb-fresh pb-stale" if stale else "pb-fresh"
    return f'<span class="{css}"{title}>{" · ".join(parts)}</span>'
