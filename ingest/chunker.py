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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from ingest.articles import Article, clean_heading
from ingest.blocks import Block, parse_blocks
from rag.chunk import Chunk

TokenCounter = Callable[[str], int]
LIST_STRETCH = 1.5  # a short list may exceed the budget by this factor to stay whole
MAX_SHORT_LIST = 12
# 8,000 characters is ~6x the text of a full 256-token chunk: real tables and code blocks fit
# (the largest chunk of the cwe and 18f corpora is far below it), hostile ones are cut.
MAX_CHUNK_CHARS = 8000
MAX_META_VALUE = 500
MAX_META_CHARS = 4000
_SEPARATOR = re.compile(r"[ \n]*")
# Closing quotes and brackets stay with their sentence; only the whitespace (group 1) is dropped.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)\]]*(\s+)(?=[\"“(\[]?[A-Z0-9])")


@dataclass
class _Unit:
    """An unsplittable piece: one or more blocks (or one sentence of a long paragraph)."""

    text: str
    start: int
    end: int
    tokens: int


def slugify(heading: str) -> str:
    """GitHub-style heading anchor: lowercase, punctuation dropped, spaces to hyphens."""
    slug = re.sub(r"[^\w\- ]", "", clean_heading(heading).lower(), flags=re.UNICODE)
    return slug.strip().replace(" ", "-")


def chunk_article(
    article: Article, count_tokens: TokenCounter, budget: int = 256, overlap: int = 32
) -> list[Chunk]:
    """Split one article into chunks of at most `budget` tokens (unsplittable pieces excepted)."""
    chunks: list[Chunk] = []
    metadata = _flat_metadata(article)  # once: a copy per chunk, so it is kept small
    sections = _sections(parse_blocks(article.body), article.title)
    for section, (path, blocks) in enumerate(sections):
        units = _units(blocks, count_tokens, budget)
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


def _sections(
    blocks: Sequence[Block], title: str
) -> list[tuple[tuple[str, ...], list[Block]]]:
    """Group blocks under their heading path; heading blocks themselves are not content.

    A heading left empty (it was only a template tag such as `# {{ page.title }}`) is the
    article's title at level 1, where generators put the page title, and is ignored below."""
    sections: list[tuple[tuple[str, ...], list[Block]]] = [((), [])]
    stack: list[tuple[int, str]] = []
    for block in blocks:
        if block.kind == "heading":
            text = clean_heading(block.text) or (title if block.level == 1 else "")
            if not text:
                continue
            while stack and stack[-1][0] >= block.level:
                stack.pop()
            stack.append((block.level, text))
            sections.append((tuple(h for _, h in stack), []))
        else:
            sections[-1][1].append(block)
    return [(path, body) for path, body in sections if body]


def _units(blocks: Sequence[Block], count: TokenCounter, budget: int) -> list[_Unit]:
    """Turn blocks into unsplittable units, gluing lead-ins to their lists."""
    units: list[_Unit] = []
    i = 0
    while i < len(blocks):
        block = blocks[i]
        if block.kind == "paragraph" and i + 1 < len(blocks) and blocks[i + 1].kind == "item":
            items = _list_items(blocks, i + 1)
            whole = [block, *items]
            if _fits_whole(whole, count, budget):  # a short list stays whole with its lead-in
                units.append(_join(whole, count))
                i += len(whole)
                continue
            # Too long to keep whole: the lead-in's last sentence still travels with item one.
            *head, lead = _paragraph_units(block, count, budget)
            units.extend(head)
            first = items[0]
            text = lead.text + "\n" + first.text
            units.append(_Unit(text, lead.start, first.end, count(text)))
            i += 2
            continue
        if block.kind == "item":
            items = _list_items(blocks, i)
            if _fits_whole(items, count, budget):
                units.append(_join(items, count))
                i += len(items)
                continue
        if block.kind == "paragraph":
            units.extend(_paragraph_units(block, count, budget))
        else:
            units.append(_Unit(block.text, block.start, block.end, count(block.text)))
        i += 1
    return [piece for unit in units for piece in _capped(unit, count)]


def _capped(unit: _Unit, count: TokenCounter, cap: int = MAX_CHUNK_CHARS) -> list[_Unit]:
    """The unit itself, or pieces of at most `cap` characters cut at line breaks, else spaces.

    Joining the pieces with the whitespace they were cut at gives back the unit's text."""
    if len(unit.text) <= cap:
        return [unit]
    pieces: list[_Unit] = []
    text, pos, line = unit.text, 0, unit.start
    while pos < len(text):
        end = pos + cap
        if end < len(text):
            cut = text.rfind("\n", pos + 1, end + 1)
            if cut < 0:
                cut = text.rfind(" ", pos + 1, end + 1)
            end = cut if cut > 0 else end
        piece = text[pos:end]
        if piece.strip():
            pieces.append(_Unit(piece, line, line + piece.count("\n"), count(piece)))
        line += piece.count("\n")
        pos = _SEPARATOR.match(text, end).end()  # the whitespace we cut at
        line += text.count("\n", end, pos)
    return pieces


def _fits_whole(blocks: Sequence[Block], count: TokenCounter, budget: int) -> bool:
    """A list (with its lead-in) stays in one chunk if it fits the budget, or if it is a short
    list of short items: up to LIST_STRETCH x budget when no item exceeds half the budget.
    Splitting such a list would separate advice from the sentence that frames it; the price is
    that the embedding model sees only its first 256 tokens (BM25 still sees all of it)."""
    total = _tokens(blocks, count)
    if total <= budget:
        return True
    items = [b for b in blocks if b.kind == "item"]
    short = len(items) <= MAX_SHORT_LIST and all(count(b.text) <= budget // 2 for b in items)
    return short and total <= LIST_STRETCH * budget


def _list_items(blocks: Sequence[Block], start: int) -> list[Block]:
    list_id = blocks[start].list_id
    end = start
    while end < len(blocks) and blocks[end].kind == "item" and blocks[end].list_id == list_id:
        end += 1
    return list(blocks[start:end])


def _tokens(blocks: Sequence[Block], count: TokenCounter) -> int:
    return count("\n".join(b.text for b in blocks))


def _join(blocks: Sequence[Block], count: TokenCounter) -> _Unit:
    text = "\n".join(b.text for b in blocks)
    return _Unit(text, blocks[0].start, blocks[-1].end, count(text))


def _paragraph_units(block: Block, count: TokenCounter, budget: int) -> list[_Unit]:
    """A paragraph is one unit if it fits, else one unit per sentence (never split further)."""
    tokens = count(block.text)
    if tokens <= budget:
        return [_Unit(block.text, block.start, block.end, tokens)]
    text, units, pos, line = block.text, [], 0, block.start
    for match in _SENTENCE_END.finditer(text):
        piece = text[pos : match.start(1)]
        units.append(_Unit(piece, line, line + piece.count("\n"), count(piece)))
        line += text.count("\n", pos, match.end())  # newlines counted once: linear, not O(n^2)
        pos = match.end()
    piece = text[pos:]
    units.append(_Unit(piece, line, line + piece.count("\n"), count(piece)))
    return units


def _pack(units: Sequence[_Unit], budget: int) -> list[list[_Unit]]:
    """Greedy packing: add units while the chunk stays within budget (and the character cap)."""
    groups: list[list[_Unit]] = []
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
    seen_sections: dict[str, list[int]] = {}
    out = []
    for chunk in chunks:
        sections = seen_sections.setdefault(chunk.anchor or "top", [])
        if chunk.section not in sections:
            sections.append(chunk.section)
        k = sections.index(chunk.section)
        if k:
            anchor = f"{chunk.anchor or 'top'}-{k}"
            n = chunk.id.rsplit("#", 1)[1]
            chunk = replace(chunk, id=f"{chunk.article_id}#{anchor}#{n}", anchor=anchor)
        out.append(chunk)
    return out
