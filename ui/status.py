"""Side-panel facts (index status, answerers on offer) and example questions from the playbook."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import get_args

from rag.errors import PlaybookError
from rag.settings import AnswererName, Settings


def index_status_html(settings: Settings) -> str:
    """Articles, chunks and last ingest of the live generation (or how to build one)."""
    from rag.index import open_store

    try:  # through the store: the same facts for a folder and for a Chroma server
        store = open_store(settings)
        generation = store.current()
        manifest = store.manifest(generation) if generation else None
    except (PlaybookError, OSError, ValueError) as exc:
        return f'<div class="pb-error">{escape(str(exc))}</div>'
    if generation is None or manifest is None:
        return (
            '<div class="pb-error">No index yet: press “Re-ingest content” '
            "(or run <code>playbook ingest</code>).</div>"
        )
    try:
        when = datetime.fromisoformat(manifest.created).strftime("%Y-%m-%d %H:%M %Z").strip()
    except ValueError:
        when = manifest.created
    rows = [
        ("Articles", str(len(manifest.articles))),
        ("Chunks", str(manifest.chunk_count)),
        ("Last ingest", when),
        ("Generation", generation),
    ]
    cells = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows)
    return f'<dl class="pb-status">{cells}</dl>'


def available_answerers(settings: Settings) -> list[str]:
    """Answerers that can be built here (the configured one always listed first)."""
    from rag.answerers import get_answerer

    names = [settings.llm] + [n for n in get_args(AnswererName) if n != settings.llm]
    usable = []
    for name in names:
        try:
            get_answerer(name)
        except Exception:  # unknown or missing optional package: not offered
            continue
        usable.append(name)
    return usable or [settings.llm]


def example_questions(settings: Settings, limit: int = 4) -> list[str]:
    """Questions drawn from the playbook: headings that are questions, then one per article."""
    from rag.index import load_index

    try:
        reader = load_index(settings)
    except PlaybookError:
        return []
    questions: list[str] = []
    titles: list[str] = []
    for chunks in reader.by_article.values():
        for chunk in chunks:
            for heading in chunk.heading_path:
                if heading.rstrip().endswith("?") and heading not in questions:
                    questions.append(heading.strip())
        if chunks:
            titles.append(chunks[0].title)
    for title in sorted(titles):
        question = f"What does the playbook say about {title.strip().lower()}?"
        if question not in questions:
            questions.append(question)
    return questions[:limit]
