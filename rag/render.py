"""Printing an Answer for people: rich on a terminal, plain text when piped."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from typing import Any

from rag.answer import Answer


def where(title: str, heading: str) -> str:
    """'Title › Heading › Subheading' for a source, never repeating the title.

    Headings come as 'H1 > H2' paths; an H1 that is the article's title is dropped.
    """
    path = [h.strip() for h in heading.split(" > ") if h.strip()]
    if path and path[0].casefold() == title.strip().casefold():
        path = path[1:]
    return " › ".join([title.strip(), *path]) if title.strip() else " › ".join(path)


def format_answer(answer: Answer, show_text: bool = True, width: int = 100) -> str:
    """The answer, then its numbered sources with heading, score, link and passage."""
    lines = []
    if answer.notice:
        lines.append(f"note: {answer.notice}")
    if show_text:
        lines.append(answer.answer)
    if answer.model:
        lines.append(f"(written by {answer.model}; each sentence checked against its source)")
    if answer.query and answer.query != answer.question:
        lines.append(f"(searched for: {answer.query})")
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
    for c in answer.citations:
        lines.append(f"[{c.n}] {where(c.title, c.heading)}  (score {c.score:.2f})  {c.url}")
        for para in c.text.split("\n"):
            wrapped = textwrap.wrap(para, width=width - 6) or [""]
            lines.extend("      " + w for w in wrapped)
    return "\n".join(lines)


def rich_answer(answer: Answer, show_text: bool = True) -> Any:
    """A rich Text: notice, answer with coloured [n], sources with cited sentences in bold."""
    from rich.text import Text

    out = Text()
    if answer.notice:
        out.append(f"note: {answer.notice}\n", style="yellow")
    if show_text:
        body = Text(answer.answer, style="bold" if not answer.refused else "")
        body.highlight_regex(r"\[\d+\]", "cyan")
        out.append_text(body)
        out.append("\n")
    if answer.model:
        out.append(f"(written by {answer.model}; each sentence checked against its source)\n",
                   style="dim")
    if answer.query and answer.query != answer.question:
        out.append(f"(searched for: {answer.query})\n", style="dim")
    if answer.citations:
        out.append("\nSources:\n", style="bold")
    for c in answer.citations:
        out.append(f"[{c.n}] ", style="cyan")
        out.append(where(c.title, c.heading), style="bold")
        out.append(f"  (score {c.score:.2f})  {c.url}\n", style="dim")
        passage = Text(c.text, style="dim")
        for start, end in c.spans:
            passage.stylize("not dim bold", start, end)
        passage.pad_left(6)
        out.append_text(passage)
        out.append("\n")
    return out


def print_answer(answer: Answer, show_text: bool = True) -> None:
    """Print to stdout; colours only on a terminal. Text is never interpreted as markup."""
    if sys.stdout.isatty():
        from rich.console import Console

        Console().print(rich_answer(answer, show_text), markup=False, highlight=False)
    else:
        print(format_answer(answer, show_text))


def stream_printer() -> Callable[[str], None]:
    """An on_token callback printing the draft as it is generated (dimmed on a terminal)."""
    dim = sys.stdout.isatty()

    def emit(piece: str) -> None:
        sys.stdout.write(f"\x1b[2m{piece}\x1b[0m" if dim else piece)
        sys.stdout.flush()

    return emit


def same_text(draft: str, answer: str) -> bool:
    """True when the checked answer is the streamed draft (whitespace aside)."""
    return " ".join(draft.split()) == " ".join(answer.split())
