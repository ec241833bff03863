"""A passage's Markdown as safe HTML, with cited character spans highlighted.

Only a small, fixed subset is rendered: headings, numbered and bulleted lists (one level of
nesting), fenced code, paragraphs, and inline `code`, **strong**, *emphasis* and [link text]
(shown as text, never as a link). Every character of the passage is escaped with
`html.escape`; the only tags are the ones written here. Cited spans are offsets into the raw
passage, so styling is computed per character and emitted as runs, each run's tags closed before
the next opens (properly nested whatever the overlap of a citation and an emphasis). Linear in
the passage length.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape
from typing import Any

_ITEM = re.compile(r"^(\s*)(\d+[.)]|[-*+])\s+")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+")
_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE = re.compile(
    r"(?P<code>`+)(?P<codetext>.+?)(?P=code)"  # `code`
    r"|(?P<strong>\*\*|__)(?=\S)(?P<strongtext>.+?)(?<=\S)(?P=strong)"  # **strong**
    r"|(?<![\w*])(?P<em>[*_])(?=[^\s*_])(?P<emtext>.+?)(?<=[^\s*_])(?P=em)(?![\w*])"  # *em*
    r"|\[(?P<linktext>[^\]\n]+)\]\([^)\s]*\)"  # [text](url): the text only
)
MARK, STRONG, EM, CODE, HIDDEN = 1, 2, 4, 8, 16


def _marks(length: int, spans: Sequence[Any]) -> list[int]:
    """Per-character MARK flags for the cited spans (bad spans ignored)."""
    delta = [0] * (length + 1)
    for span in spans or []:
        try:
            start, end = max(0, int(span[0])), min(length, int(span[1]))
        except (TypeError, ValueError, IndexError):
            continue
        if start < end:
            delta[start] += 1
            delta[end] -= 1
    flags, depth = [0] * length, 0
    for i in range(length):
        depth += delta[i]
        flags[i] = MARK if depth > 0 else 0
    return flags


def _inline_flags(text: str, start: int, end: int, flags: list[int]) -> None:
    """Add STRONG/EM/CODE to the characters of text[start:end]; hide the markup characters."""
    for match in _INLINE.finditer(text, start, end):
        for group, style in (("codetext", CODE), ("strongtext", STRONG), ("emtext", EM),
                             ("linktext", 0)):
            if match.group(group) is None:
                continue
            inner_start, inner_end = match.span(group)
            for i in range(match.start(), match.end()):
                if inner_start <= i < inner_end:
                    flags[i] |= style
                else:
                    flags[i] |= HIDDEN
            break


def _runs(text: str, start: int, end: int, flags: list[int]) -> str:
    """Escaped HTML of text[start:end], each run of equal styling wrapped in its tags."""
    out: list[str] = []
    i = start
    while i < end:
        j = i
        while j < end and flags[j] == flags[i]:
            j += 1
        flag = flags[i]
        if not flag & HIDDEN:
            piece = escape(text[i:j])
            for bit, tag in ((CODE, "code"), (EM, "em"), (STRONG, "strong"), (MARK, "mark")):
                if flag & bit:
                    piece = f"<{tag}>{piece}</{tag}>"
            out.append(piece)
        i = j
    return "".join(out)


def passage_html(text: str, spans: Sequence[Any] = ()) -> str:
    """The passage as escaped HTML blocks with `spans` (character offsets) in <mark>."""
    flags = _marks(len(text), spans)
    lines: list[tuple[int, int]] = []
    offset = 0
    for line in text.split("\n"):
        lines.append((offset, offset + len(line)))
        offset += len(line) + 1
    return _Renderer(text, flags).render(lines)


class _Renderer:
    """Turns lines (start, end offsets) into blocks; lists are opened and closed as needed."""

    def __init__(self, text: str, flags: list[int]) -> None:
        self.text, self.flags = text, flags
        self.out: list[str] = []
        self.lists: list[tuple[str, int]] = []  # open lists: (tag, indent)
        self.paragraph: list[str] = []

    def render(self, lines: list[tuple[int, int]]) -> str:
        code: list[str] | None = None
        for start, end in lines:
            line = self.text[start:end]
            if _FENCE.match(line):
                if code is None:
                    self._close_all()
                    code = []
                else:
                    self.out.append(f"<pre><code>{chr(10).join(code)}</code></pre>")
                    code = None
                continue
            if code is not None:
                code.append(_runs(self.text, start, end, self.flags))
                continue
            self._line(line, start, end)
        if code is not None:
            self.out.append(f"<pre><code>{chr(10).join(code)}</code></pre>")
        self._close_all()
        return "".join(self.out)

    def _inline(self, start: int, end: int) -> str:
        _inline_flags(self.text, start, end, self.flags)
        return _runs(self.text, start, end, self.flags)

    def _line(self, line: str, start: int, end: int) -> None:
        if not line.strip():
            self._flush()
            return
        heading = _HEADING.match(line)
        if heading:
            self._close_all()
            level = min(len(heading.group(1)) + 2, 6)  # inside a card: small headings
            self.out.append(f'<h{level} class="pb-h">{self._inline(start + heading.end(), end)}'
                            f"</h{level}>")
            return
        item = _ITEM.match(line)
        if item:
            self._item(item, start, end)
            return
        if self.lists and line[:1].isspace():  # an indented continuation of the list item
            self.out.append(" " + self._inline(start, end))
            return
        self._close_lists()
        self.paragraph.append(self._inline(start, end))

    def _item(self, item: re.Match[str], start: int, end: int) -> None:
        self._flush_paragraph()
        indent = len(item.group(1))
        marker = item.group(2)
        tag = "ol" if marker[0].isdigit() else "ul"
        while self.lists and self.lists[-1][1] > indent:
            self.out.append(f"</li></{self.lists.pop()[0]}>")
        if self.lists and self.lists[-1][1] == indent and self.lists[-1][0] != tag:
            self.out.append(f"</li></{self.lists.pop()[0]}>")
        if not self.lists or self.lists[-1][1] < indent:
            first = f' start="{int(marker[:-1])}"' if tag == "ol" and marker[:-1] != "1" else ""
            self.out.append(f'<{tag} class="pb-md-list"{first}>')
            self.lists.append((tag, indent))
        else:
            self.out.append("</li>")
        self.out.append(f"<li>{self._inline(start + item.end(), end)}")

    def _flush_paragraph(self) -> None:
        if self.paragraph:
            self.out.append(f"<p>{' '.join(self.paragraph)}</p>")
            self.paragraph = []

    def _flush(self) -> None:
        """A blank line ends a paragraph (a list continues past blank lines between items)."""
        self._flush_paragraph()

    def _close_lists(self) -> None:
        while self.lists:
            self.out.append(f"</li></{self.lists.pop()[0]}>")

    def _close_all(self) -> None:
        self._flush_paragraph()
        self._close_lists()
