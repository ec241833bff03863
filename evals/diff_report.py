"""Markdown for `playbook diff`: a report that fits a pull-request comment."""

from __future__ import annotations

from evals.diff import KINDS, DiffReport

MAX_ROWS = 40  # per section: a pull-request comment must stay readable (and under 65k chars)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip()


def _links(links: list[str], refused: bool) -> str:
    if refused:
        return "*refused*"
    return "<br>".join(f"`{_cell(x)}`" for x in links) or "*no citation*"


def to_markdown(report: DiffReport) -> str:
    """The report as a pull-request comment."""
    counts = [f"**{report.count(k)}** {k}" for k in KINDS]
    counts.append(f"**{len(report.broken)}** broken heading links")
    lines = [
        "### Playbook answer diff",
        "",
        f"{report.questions} questions answered from `{_cell(report.base)}` and from this "
        f"change in {report.seconds:.1f} s: " + ", ".join(counts) + ".",
    ]
    if not report.changes and not report.broken:
        lines += ["", "No answer changed."]
    for kind in KINDS:
        rows = [c for c in report.changes if c.kind == kind]
        if not rows:
            continue
        lines += ["", f"#### {kind.capitalize()} ({len(rows)})", "",
                  "| Question | Before | After |", "|---|---|---|"]
        for change in rows[:MAX_ROWS]:
            lines.append(
                f"| {_cell(change.question)} | {_links(change.old, kind == 'newly answered')} "
                f"| {_links(change.new, kind == 'newly refused')} |"
            )
        if len(rows) > MAX_ROWS:
            lines.append(f"| … and {len(rows) - MAX_ROWS} more | | |")
    if report.broken:
        lines += ["", f"#### Broken heading links ({len(report.broken)})", "",
                  "| Question | Link the answer used |", "|---|---|"]
        for item in report.broken[:MAX_ROWS]:
            lines.append(f"| {_cell(item['question'])} | `{_cell(item['link'])}` |")
        if len(report.broken) > MAX_ROWS:
            lines.append(f"| … and {len(report.broken) - MAX_ROWS} more | |")
    return "\n".join(lines) + "\n"
