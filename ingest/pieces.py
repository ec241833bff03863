"""Blocks -> unsplittable pieces that the chunker packs (ingest/chunker.py).

A list stays whole with its lead-in when it fits (a short list of short items may stretch the
budget); otherwise the lead-in's last sentence travels with item one. A paragraph over the
budget splits at sentence ends, never inside a sentence. No piece exceeds MAX_CHUNK_CHARS: a
longer unsplittable piece is cut at line breaks, else at spaces, losing nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ingest.blocks import Block

TokenCounter = Callable[[str], int]
LIST_STRETCH = 1.5  # a short list may exceed the budget by this factor to stay whole
MAX_SHORT_LIST = 12
# 8,000 characters is ~6x the text of a full 256-token chunk: real tables and code blocks fit
# (the largest chunk of the cwe and 18f corpora is far below it), hostile ones are cut.
MAX_CHUNK_CHARS = 8000
_SEPARATOR = re.compile(r"[ \n]*")
# Closing quotes and brackets stay with their sentence; only the whitespace (group 1) is dropped.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)\]]*(\s+)(?=[\"“(\[]?[A-Z0-9])")


@dataclass
class Piece:
    """An unsplittable piece: one or more blocks (or one sentence of a long paragraph)."""

    text: str
    start: int
    end: int
    tokens: int


def pieces(blocks: Sequence[Block], count: TokenCounter, budget: int) -> list[Piece]:
    """Turn a section's blocks into unsplittable pieces, gluing lead-ins to their lists."""
    units: list[Piece] = []
    i = 0
    while i < len(blocks):
        block = blocks[i]
        lead = block.kind == "paragraph" and i + 1 < len(blocks) and blocks[i + 1].kind == "item"
        if lead or block.kind == "item":
            items = _list_items(blocks, i + 1 if lead else i)
            units.extend(_list_units(block if lead else None, items, count, budget))
            i += len(items) + lead
        elif block.kind == "paragraph":
            units.extend(_paragraph_units(block, count, budget))
            i += 1
        else:
            units.append(Piece(block.text, block.start, block.end, count(block.text)))
            i += 1
    return [piece for unit in units for piece in _capped(unit, count)]


def _list_units(
    lead: Block | None, items: Sequence[Block], count: TokenCounter, budget: int
) -> list[Piece]:
    """A list and its lead-in: one unit if it fits (see `_fits`); else the lead-in's last
    sentence travels with item one, and items go one by one until the rest fits whole.
    Each item is counted once (a per-item rescan of the rest of the list was quadratic)."""
    tokens = [count(b.text) for b in items]
    lead_tokens = count(lead.text) if lead else 0
    if _fits(len(items), sum(tokens) + lead_tokens, max(tokens), budget):
        return [_join([lead, *items] if lead else items, count)]
    units: list[Piece] = []
    start = 0
    if lead is not None:
        *head, last = _paragraph_units(lead, count, budget)
        units.extend(head)
        text = last.text + "\n" + items[0].text
        units.append(Piece(text, last.start, items[0].end, count(text)))
        start = 1
    rest = _first_fitting_suffix(tokens, start, budget)
    units.extend(Piece(b.text, b.start, b.end, t)
                 for b, t in zip(items[start:rest], tokens[start:rest], strict=True))
    if rest < len(items):
        units.append(_join(items[rest:], count))
    return units


def _first_fitting_suffix(tokens: list[int], start: int, budget: int) -> int:
    """The smallest k >= start such that items[k:] fit whole (len(tokens) if none does)."""
    first, total, largest = len(tokens), 0, 0
    for k in range(len(tokens) - 1, start - 1, -1):
        total += tokens[k]
        largest = max(largest, tokens[k])
        if _fits(len(tokens) - k, total, largest, budget):
            first = k
    return first


def _capped(unit: Piece, count: TokenCounter, cap: int = MAX_CHUNK_CHARS) -> list[Piece]:
    """The unit itself, or pieces of at most `cap` characters cut at line breaks, else spaces.

    Joining the pieces with the whitespace they were cut at gives back the unit's text."""
    if len(unit.text) <= cap:
        return [unit]
    pieces: list[Piece] = []
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
            pieces.append(Piece(piece, line, line + piece.count("\n"), count(piece)))
        line += piece.count("\n")
        separator = _SEPARATOR.match(text, end)  # the whitespace we cut at (always matches)
        pos = separator.end() if separator else end
        line += text.count("\n", end, pos)
    return pieces


def _fits(items: int, total: int, largest: int, budget: int) -> bool:
    """A list (with its lead-in) stays in one chunk if it fits the budget, or if it is a short
    list of short items: up to LIST_STRETCH x budget when no item exceeds half the budget.
    Splitting such a list would separate advice from the sentence that frames it; the price is
    that the embedding model sees only its first 256 tokens (BM25 still sees all of it).
    Token counts add up: the tokenizer never joins text across the newline between items."""
    if total <= budget:
        return True
    short = items <= MAX_SHORT_LIST and largest <= budget // 2
    return short and total <= LIST_STRETCH * budget


def _list_items(blocks: Sequence[Block], start: int) -> list[Block]:
    list_id = blocks[start].list_id
    end = start
    while end < len(blocks) and blocks[end].kind == "item" and blocks[end].list_id == list_id:
        end += 1
    return list(blocks[start:end])


def _join(blocks: Sequence[Block], count: TokenCounter) -> Piece:
    text = "\n".join(b.text for b in blocks)
    return Piece(text, blocks[0].start, blocks[-1].end, count(text))


def _paragraph_units(block: Block, count: TokenCounter, budget: int) -> list[Piece]:
    """A paragraph is one unit if it fits, else one unit per sentence (never split further)."""
    tokens = count(block.text)
    if tokens <= budget:
        return [Piece(block.text, block.start, block.end, tokens)]
    text, units, pos, line = block.text, [], 0, block.start
    for match in _SENTENCE_END.finditer(text):
        piece = text[pos : match.start(1)]
        units.append(Piece(piece, line, line + piece.count("\n"), count(piece)))
        line += text.count("\n", pos, match.end())  # newlines counted once: linear, not O(n^2)
        pos = match.end()
    piece = text[pos:]
    units.append(Piece(piece, line, line + piece.count("\n"), count(piece)))
    return units
