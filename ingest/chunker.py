"""Articles -> chunks. Pure functions over plain dataclasses.

Rules: split by heading into sections; never split inside a list item, table, code block or
sentence; pack a section's blocks greedily up to a token budget; a lead-in paragraph stays with
the list it introduces, and a whole short list stays in one chunk with its lead-in. Each chunk's
own `text` never overlaps another chunk's; the overlap with the previous chunk is kept apart in
`context`, which is only embedded, never shown twice. No chunk's text exceeds MAX_CHUNK_CHARS:
a longer unsplittable piece (a giant table, code block or sentence) is cut at line breaks, else
at spaces, so that nothing is lost and no single chunk dominates memory, BM25 or the page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from ingest.articles import Article, clean_heading
from ingest.blocks import Block, parse_blocks
from ingest.pieces import MAX_CHUNK_CHARS, Piece, TokenCounter, pieces
from rag.chunk import Chunk

__all__ = ["MAX_CHUNK_CHARS", "chunk_article", "slugify"]
MAX_META_VALUE = 500
MAX_META_CHARS = 4000


def slugify(heading: str) -> str:
    """GitHub-style heading anchor: lowercase, punctuation dropped, spaces to hyphens."""
    slug = re.sub(r"[^\w\- ]", "", clean_heading(heading).lower(), flags=re.UNICODE)
    return slug.strip().replace(" ", "-")


def chunk_article(
    article: Article, count_tokens: TokenCounter, budget: int = 256, overlap: int = 32
) -> list[Chunk]:
    """Split one article into chunks of at most `budget` tokens (unsplittable pieces excepted)."""
    count_tokens = _sliced(count_tokens)
    chunks: list[Chunk] = []
    metadata = _flat_metadata(article)  # once: a copy per chunk, so it is kept small
    sections = _sections(parse_blocks(article.body), article.title)
    for section, (path, blocks) in enumerate(sections):
        units = pieces(blocks, count_tokens, budget)
        anchor = slugify(path[-1]) if path else ""
        previous = ""
        for n, group in enumerate(_pack(units, budget)):
            text = "\n\n".join(u.text for u in group)
            chunks.append(
                Chunk(
                    id=f"{article.id}#{anchor or 'top'}#{n}",
                    article_id=article.id,
                    title=article.title,
                    source=article.source,
                    heading_path=path,
                    anchor=anchor,
                    position=len(chunks),
                    section=section,
                    start_line=group[0].start + article.body_line - 1,
                    end_line=group[-1].end + article.body_line - 1,
                    text=text,
                    context=_tail(previous, count_tokens, overlap) if n else "",
                    metadata=dict(metadata),
                )
            )
            previous = text
    return _dedupe_ids(chunks)


def _sliced(count: TokenCounter) -> TokenCounter:
    """The counter, fed at most MAX_CHUNK_CHARS at a time: the tokenizer's time grows faster
    than the length of one huge string. Slices end at whitespace, which no token crosses, so
    the sum is the same count (a slice cut inside a 8,000-character word is an estimate)."""

    def counted(text: str) -> int:
        if len(text) <= MAX_CHUNK_CHARS:
            return count(text)
        total, pos = 0, 0
        while pos < len(text):
            end = pos + MAX_CHUNK_CHARS
            if end < len(text):
                cut = max(text.rfind(" ", pos + 1, end), text.rfind("\n", pos + 1, end))
                end = cut if cut > 0 else end
            total += count(text[pos:end])
            pos = end
        return total

    return counted


def _sections(
    blocks: Sequence[Block], title: str
) -> list[tuple[tuple[str, ...], list[Block]]]:
    """Group blocks under their heading path; heading blocks themselves are not content.

    A heading left empty (it was only a template tag such as `# {{ page.title }}`) is the
    article's title at level 1, where generators put the page title, and is ignored below.
    A heading with neither text nor subheadings under it is its section's text: such headings
    are content ("#### 3. HR reviews your documents." between steps 2 and 4)."""
    sections: list[tuple[tuple[str, ...], list[Block]]] = [((), [])]
    own: list[Block | None] = [None]  # the heading block of each section, if it had text
    stack: list[tuple[int, str]] = []
    for block in blocks:
        if block.kind == "heading":
            cleaned = clean_heading(block.text)
            text = cleaned or (title if block.level == 1 else "")
            if not text:
                continue
            while stack and stack[-1][0] >= block.level:
                stack.pop()
            stack.append((block.level, text))
            sections.append((tuple(h for _, h in stack), []))
            own.append(replace(block, kind="paragraph", text=cleaned) if cleaned else None)
        else:
            sections[-1][1].append(block)
    for i, (path, body) in enumerate(sections):
        after = sections[i + 1][0] if i + 1 < len(sections) else ()
        parent = len(after) > len(path) and after[: len(path)] == path
        heading = own[i]
        if not body and heading is not None and not parent:
            body.append(heading)  # a leaf heading: nothing else says what it says
    return [(path, body) for path, body in sections if body]


def _pack(units: Sequence[Piece], budget: int) -> list[list[Piece]]:
    """Greedy packing: add units while the chunk stays within budget (and the character cap)."""
    groups: list[list[Piece]] = []
    size = chars = 0
    for unit in units:
        if groups and size + unit.tokens <= budget and chars + len(unit.text) < MAX_CHUNK_CHARS:
            groups[-1].append(unit)
            size += unit.tokens
            chars += len(unit.text) + 2  # the "\n\n" that joins units
        else:
            groups.append([unit])
            size, chars = unit.tokens, len(unit.text)
    return groups


def _tail(text: str, count: TokenCounter, limit: int) -> str:
    """The last words of `text` that fit in `limit` tokens."""
    if limit <= 0 or not text:
        return ""
    words = text.split()[-limit:]  # every word is at least one token: no more can fit
    lo, hi = 0, len(words)  # binary search the longest suffix that fits
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count(" ".join(words[-mid:])) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return " ".join(words[-lo:]) if lo else ""


def _flat_metadata(article: Article) -> dict[str, str]:
    """Front-matter extras flattened to strings (vector stores take scalars only).

    Every chunk carries a copy, so values are cut at MAX_META_VALUE characters and keys stop at
    MAX_META_CHARS in all: big front matter must not multiply by the number of chunks."""
    flat: dict[str, str] = {}
    total = 0
    for key, value in article.metadata.items():
        if isinstance(value, (list, tuple)):
            text = ", ".join(str(v) for v in value[:100])
        elif value is not None:
            text = str(value)
        else:
            continue
        text = text[:MAX_META_VALUE]
        total += len(key) + len(text)
        if total > MAX_META_CHARS:
            break
        flat[key] = text
    return flat


def _dedupe_ids(chunks: list[Chunk]) -> list[Chunk]:
    """Sections sharing a heading slug get GitHub's -1, -2 ... suffixes, in ids and anchors."""
    seen_sections: dict[str, dict[int, int]] = {}  # slug -> {section: its rank}: O(1) lookups
    out = []
    for chunk in chunks:
        sections = seen_sections.setdefault(chunk.anchor or "top", {})
        k = sections.setdefault(chunk.section, len(sections))
        if k:
            anchor = f"{chunk.anchor or 'top'}-{k}"
            n = chunk.id.rsplit("#", 1)[1]
            chunk = replace(chunk, id=f"{chunk.article_id}#{anchor}#{n}", anchor=anchor)
        out.append(chunk)
    return out
