"""The whole-article view behind each source's "open the article at this heading" link.

Only Markdown files inside the content dir are ever read, under the same rules as ingest
(ingest/files.py: no `..`, no absolute or hidden paths, no symlinks leading out or looping).
Raw HTML in an article is shown as text: markdown-it runs with html off, and headings get the
same GitHub-style anchors the chunker gives passages.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from ingest.files import content_file
from rag.errors import ContentError, PlaybookError
from rag.settings import Settings


def resolve_source(settings: Settings, source: str) -> Path:
    """The file for an article path relative to the content dir, or PlaybookError."""
    try:
        return content_file(settings.content_path, source, settings.follow_external_symlinks)
    except ContentError as exc:
        raise PlaybookError(
            f"There is no article '{exc.path}' in the playbook: {exc.path} {exc.reason}."
        ) from exc


def _markdown(title: str) -> Any:
    from markdown_it import MarkdownIt

    from ingest.chunker import slugify

    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
    seen: dict[str, int] = {}

    def heading_open(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        inline = tokens[idx + 1]
        # An H1 that was only a template tag stands for the title, as in the chunker.
        fallback = slugify(title) if tokens[idx].tag == "h1" else ""
        slug = slugify(inline.content) or fallback or "section"
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        tokens[idx].attrSet("id", f"{slug}-{n}" if n else slug)
        return str(renderer.renderToken(tokens, idx, options, env))

    md.add_render_rule("heading_open", heading_open)
    return md


def article_html(settings: Settings, source: str, anchor: str = "") -> str:
    """The article rendered as safe HTML, with the target heading marked."""
    from ingest.articles import read_article

    try:
        path = resolve_source(settings, source)
        article = read_article(path, settings.content_path, settings.max_article_bytes)
    except PlaybookError as exc:
        return f'<div class="pb-error">{escape(str(exc))}</div>'
    body = _markdown(article.title).render(article.body)
    if anchor:
        target = f'id="{escape(anchor)}"'
        body = body.replace(target, f'{target} class="pb-target"', 1)
    title = "" if body.startswith("<h1") else f"<h1>{escape(article.title)}</h1>"
    return (
        f'<article class="pb-article"><a class="pb-back" href="./">← Back to the chat</a>'
        f'<div class="pb-article-source">{escape(article.source)}</div>{title}{body}</article>'
    )
