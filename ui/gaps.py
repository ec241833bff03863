"""The "Gaps" page for signed-in users: topics of unanswered questions, from `rag.gaps`.

Mounted only when PLAYBOOK_AUTH is set (the log holds what others asked). Also the one-call
link from a thumbs up/down on the chat page to the question log.
"""

from __future__ import annotations

import logging
import sqlite3
from html import escape
from pathlib import Path
from typing import Any

import gradio as gr

from rag.errors import PlaybookError
from rag.settings import Settings

log = logging.getLogger("playbook.ui")


def link_feedback(index_dir: Path, feedback_id: str, answer: dict[str, Any], rating: Any) -> None:
    """Record a thumbs up/down on the question's log row; never fails the feedback itself."""
    from rag.questionlog import QuestionLog

    try:
        QuestionLog(index_dir).link_feedback(
            feedback_id, str(answer.get("question", "")), int(rating) if rating else None
        )
    except (PlaybookError, sqlite3.Error, OSError, ValueError) as exc:
        log.warning("feedback not linked to the question log: %s", exc)


def gaps_html(settings: Settings, since_days: float | None) -> str:
    """The gap groups as an HTML table (escaped)."""
    from rag.gaps import gaps

    try:
        groups = gaps(settings, since_days or None)
    except PlaybookError as exc:
        return f'<div class="pb-error">{escape(str(exc))}</div>'
    window = f"the last {since_days:g} days" if since_days else "the whole log"
    if not groups:
        return f"<p>No refused, low-relevance or thumbs-down questions in {window}.</p>"
    rows = []
    for n, group in enumerate(groups, start=1):
        why = ", ".join(f"{v} {escape(k)}" for k, v in sorted(group.reasons.items()))
        examples = "".join(f"<li>{escape(e)}</li>" for e in group.examples)
        nearest = "".join(
            f"<li>{escape(a['title'])} <span class='pb-muted'>({escape(a['owner'] or 'no owner')})"
            "</span></li>" for a in group.articles
        )
        rows.append(
            f"<tr><td>{n}</td><td><b>{group.count}</b><br><small>{why}</small></td>"
            f"<td><ul>{examples}</ul></td><td><ul>{nearest}</ul></td></tr>"
        )
    return (
        f"<p>Unanswered topics in {window}, most frequent first.</p>"
        '<table id="pb-gaps-table"><thead><tr><th>#</th><th>Questions</th><th>Examples</th>'
        "<th>Nearest articles (owner)</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def mount_gaps(demo: Any, settings: Settings) -> None:
    """Add the `/gaps` page (a navbar tab) to the app."""
    with demo.route("Gaps", "/gaps"):
        gr.Markdown("## Gaps: questions the playbook does not answer well")
        with gr.Row():
            since = gr.Number(value=30, label="Days (0 = all)", minimum=0, elem_id="pb-gaps-since")
            refresh = gr.Button("Refresh", size="sm", elem_id="pb-gaps-refresh")
        view = gr.HTML(elem_id="pb-gaps")
        private: dict[str, Any] = {"api_visibility": "private"}
        refresh.click(lambda d: gaps_html(settings, d), [since], view, **private)
        demo.load(lambda d: gaps_html(settings, d), [since], view, **private)
