"""Printing an Answer for people: rich on a terminal, plain text when piped."""

from __future__ import annotations

import sys
import textwrap

from rag.answer import Answer


def format_answer(answer: Answer, show_text: bool = True, width: int = 100) -> str:
    """The answer, then its numbered sources with heading, score, link and passage."""
    lines = []
    if answer.notice:
        lines.append(f"note: {answer.notice}")
    if show_text:
        lines.append(answer.answer)
    if answer.query and answer.query != answer.question:
        lines.append(f"(searched for: {answer.query})")
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
    for c in answer.citations:
        lines.append(f"[{c.n}] {c.title} — {c.heading}  (score {c.score:.2f})  {c.url}")
        for para in c.text.split("\n"):
            wrapped = textwrap.wrap(para, width=width - 6) or [""]
            lines.extend("      " + w for w in wrapped)
    return "\n".join(lines)


def print_answer(answer: Answer, show_text: bool = True) -> None:
    """Print to stdout; colours only on a terminal. Text is never interpreted as markup."""
    text = format_answer(answer, show_text)
    if sys.stdout.isatty():
        from rich.console import Console

        Console().print(text, markup=False, highlight=False)
    else:
        print(text)
