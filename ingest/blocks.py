"""Markdown body -> blocks (headings, paragraphs, list items, code, tables) with line numbers.

A block is the smallest piece the chunker may place in a chunk; list items, code blocks and
tables are never split. Pure functions, no Markdown library: we need exact line ranges.

Linear time by construction: every pattern is anchored and has no two adjacent quantifiers over
the same characters (trailing "#"s and spaces are trimmed with str methods, table separators are
checked cell by cell), and every loop moves forward through the lines without rescanning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX = re.compile(r" {0,3}(#{1,6})(?:[ \t](.*))?\Z", re.DOTALL)
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_LIST_ITEM = re.compile(r"^([ \t]*)([-*+]|\d{1,9}[.)])([ \t]+|$)")
_BLANK_RUN = re.compile(r"\n(?:[ \t]*\n){2,}")
_SEP_CELL = re.compile(r":?-+:?\Z")


@dataclass(frozen=True)
class Block:
    """A run of source lines of one kind. Lines are 1-based and relative to the body."""

    kind: str  # heading | paragraph | item | code | table
    text: str
    start: int
    end: int
    level: int = 0  # heading level, or list nesting indent for items
    list_id: int = -1  # items of one list share an id


def parse_blocks(body: str) -> list[Block]:
    """Split a Markdown body into blocks. Every non-blank line lands in exactly one block."""
    lines = body.split("\n")
    blocks: list[Block] = []
    i, list_id, in_list = 0, 0, False
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        kind, end, level = _classify(lines, i)
        if kind == "item":
            if not in_list:
                list_id += 1
            in_list = True
        elif kind != "blank":
            in_list = False
        text = "\n".join(lines[i : end + 1])
        if kind == "item" and "\n\n\n" in text:  # blank runs inside an item: one is enough
            text = _BLANK_RUN.sub("\n\n", text)
        if kind == "heading":
            text = _heading_text(lines[i : end + 1])
        blocks.append(Block(kind, text, i + 1, end + 1, level, list_id if kind == "item" else -1))
        i = end + 1
    return blocks


def _classify(lines: list[str], i: int) -> tuple[str, int, int]:
    """Return (kind, index of the block's last line, level) for the block starting at line i."""
    line = lines[i]
    fence = _FENCE.match(line)
    if fence:
        return "code", _fence_end(lines, i, fence.group(1)), 0
    atx = _ATX.match(line)
    if atx:
        return "heading", i, len(atx.group(1))
    item = _LIST_ITEM.match(line)
    if item:
        return "item", _item_end(lines, i, item), len(item.group(1).expandtabs(4))
    if _is_table_start(lines, i):
        end = i
        while end + 1 < len(lines) and "|" in lines[end + 1] and lines[end + 1].strip():
            end += 1
        return "table", end, 0
    end = i
    while end + 1 < len(lines) and lines[end + 1].strip():
        nxt = lines[end + 1]
        setext = _SETEXT.match(nxt)
        if setext:
            level = 1 if setext.group(1).startswith("=") else 2
            return "heading", end + 1, level
        if _FENCE.match(nxt) or _ATX.match(nxt) or _LIST_ITEM.match(nxt):
            break
        end += 1
    return "paragraph", end, 0


def _fence_end(lines: list[str], i: int, marker: str) -> int:
    for j in range(i + 1, len(lines)):
        stripped = lines[j].strip()
        if stripped.startswith(marker[0] * len(marker)) and not stripped.strip(marker[0]):
            return j
    return len(lines) - 1  # an unclosed fence runs to the end of the body


def _item_end(lines: list[str], i: int, item: re.Match[str]) -> int:
    """An item runs until a blank line not followed by indented text, or a sibling item."""
    indent = len(item.group(1).expandtabs(4))
    content_indent = indent + len(item.group(2)) + 1
    end, j, fence = i, i + 1, None
    while j < len(lines):
        line = lines[j]
        if fence:
            end = j
            if line.strip().startswith(fence):
                fence = None
            j += 1
            continue
        if not line.strip():
            nxt = _next_nonblank(lines, j)
            if nxt is None or _indent(lines[nxt]) < content_indent:
                break
            j = nxt  # jump over the blank run: rescanning it per blank line was quadratic
            continue
        other = _LIST_ITEM.match(line)
        if other and len(other.group(1).expandtabs(4)) <= indent:
            break
        if _indent(line) < content_indent and (_ATX.match(line) or _FENCE.match(line)):
            break
        fence_match = _FENCE.match(line.strip())
        if fence_match:
            fence = fence_match.group(1)[0] * 3
        end = j
        j += 1
    return end


def _next_nonblank(lines: list[str], j: int) -> int | None:
    for k in range(j, len(lines)):
        if lines[k].strip():
            return k
    return None


def _indent(line: str) -> int:
    return len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip())


def _is_table_start(lines: list[str], i: int) -> bool:
    if "|" not in lines[i]:
        return False
    return i + 1 < len(lines) and is_table_separator(lines[i + 1])


def is_table_separator(line: str) -> bool:
    """A GFM delimiter row such as `| --- | :-: |`, checked cell by cell (no backtracking)."""
    if len(line) - len(line.lstrip(" ")) > 3 or "-" not in line:
        return False
    row = line.strip(" \t")
    row = row[1:] if row.startswith("|") else row
    row = row[:-1] if row.endswith("|") else row
    return all(_SEP_CELL.match(cell.strip(" \t")) for cell in row.split("|"))


def atx_heading_text(line: str) -> str | None:
    """The text of an ATX heading line (`## Title ##` -> 'Title'), or None if it is not one."""
    atx = _ATX.match(line)
    if not atx:
        return None
    text = (atx.group(2) or "").strip(" \t")
    closing = text.rstrip("#")  # a closing run of #s counts only after a space (CommonMark)
    if not closing or closing[-1] in " \t":
        text = closing.rstrip(" \t")
    return text


def _heading_text(lines: list[str]) -> str:
    if len(lines) == 1:
        text = atx_heading_text(lines[0])
        if text is not None:
            return text
    return " ".join(line.strip() for line in lines[:-1])
