"""Markup that is not content: template tags, HTML comments, reference-link definitions.

Real handbooks are built by site generators (Jekyll, Eleventy, Hugo, ERB) whose tags sit in the
Markdown: `{% page "/tools/" %}`, `{{ site.baseurl }}`, `<%= currentpage.data.title %>`. The
reader never sees them, so neither may a chunk, a heading or a title. They are removed before
blocks are parsed, line-preserving: a removed span is replaced by the newlines it held, so chunk
line numbers still point into the file.

Code is left alone (fenced blocks and inline code spans): there a tag is example text, such as a
CI workflow's `${{ parameters.x }}`. The text inside `{% raw %}` is literal text the page shows.

Linear time: spans are found by str.find and by pointers into precomputed closer positions that
only move forward; no lazy regex ever rescans the rest of the text from an unclosed opener.
"""

from __future__ import annotations

import re
from bisect import bisect_left

MAX_TAG_CHARS = 2000  # a longer "{% ... %}" is more likely prose with a stray "{%" than a tag
_OPENERS = re.compile(r"<!--|\{%|\{\{|<%")
_TAG_NAME = re.compile(r"\{%-?[ \t]*(\w+)")
_RAW = re.compile(r"\{%-?[ \t]*raw[ \t]*-?%\}")
_ENDS = {
    "<!--": re.compile(re.escape("-->")), "{%": re.compile(re.escape("%}")),
    "{{": re.compile(re.escape("}}")), "<%": re.compile(re.escape("%>")),
    "comment": re.compile(r"\{%-?[ \t]*endcomment[ \t]*-?%\}"),
    "raw": re.compile(r"\{%-?[ \t]*endraw[ \t]*-?%\}"),
}
# Shortcodes whose output is content: Slack channel names are answers ("ask in #people-ops").
_KEEP_ARG = {"slack_channel": "#{}"}
_FIRST_ARG = re.compile(r"\"([^\"\n]{1,200})\"|'([^'\n]{1,200})'")
# [label]: destination "optional title": a link definition, never shown on the page.
# Footnotes ([^1]: text) are content and excluded. Every part is deterministic (no two
# adjacent quantifiers over the same characters), so a line is matched in linear time.
_REF_DEF = re.compile(
    r" {0,3}\[(?!\^)[^\[\]\n]{1,999}\]:[ \t]*"
    r"(?:<[^<>\n]*>|\{%[^%\n]*%\}|\{\{[^}\n]*\}\}|[^\s\"'(]\S*)"
    r"[ \t]*(?:(?:\"[^\"\n]*\"|'[^'\n]*'|\([^()\n]*\))[ \t]*)?\Z"
)
_EMPTY_LINK = re.compile(r"\[([^\[\]\n]*)\]\([ \t]*\)")  # what "[text]({% page %})" leaves
_BACKTICKS = re.compile(r"`+")


def strip_non_content(body: str) -> str:
    """The body without template tags, HTML comments and link definitions; same line count."""
    out: list[str] = []
    for is_code, segment in _fence_segments(body):
        out.append(_raw_markers_only(segment) if is_code else _strip_prose(segment))
    return "".join(out)


def _fence_segments(body: str) -> list[tuple[bool, str]]:
    """Split the body into (is_code, text) runs of whole lines; fences as the blocks parser sees
    them (a closing fence uses the opening character at least as many times)."""
    segments: list[tuple[bool, list[str]]] = []
    fence = ""
    for line in body.split("\n"):
        stripped = line.lstrip()
        if not fence and stripped[:3] in ("```", "~~~"):
            marker = stripped[0]
            fence = marker * (len(stripped) - len(stripped.lstrip(marker)))
            _add(segments, True, line)
            continue
        if fence:
            _add(segments, True, line)
            if stripped.startswith(fence) and not stripped.strip(fence[0]):
                fence = ""
            continue
        _add(segments, False, line)
    return [(code, "\n".join(lines) + "\n") for code, lines in segments[:-1]] + [
        (code, "\n".join(lines)) for code, lines in segments[-1:]
    ]


def _add(segments: list[tuple[bool, list[str]]], code: bool, line: str) -> None:
    if segments and segments[-1][0] == code:
        segments[-1][1].append(line)
    else:
        segments.append((code, [line]))


def _raw_markers_only(code: str) -> str:
    """Inside code only `{% raw %}` / `{% endraw %}` go: the page shows what they enclose."""
    if "{%" not in code:
        return code
    return _ENDS["raw"].sub("", _RAW.sub("", code))


def _strip_prose(text: str) -> str:
    """Link definitions blanked, then tags and comments removed outside inline code spans."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.lstrip(" ").startswith("[") and len(line) <= 2000 and _REF_DEF.match(line):
            lines[i] = ""
    text = "\n".join(lines)
    out: list[str] = []
    pos = 0
    for start, end in _code_spans(text):
        out.append(_strip_tags(text[pos:start]))
        out.append(text[start:end])
        pos = end
    out.append(_strip_tags(text[pos:]))
    return "".join(out)


def _code_spans(text: str) -> list[tuple[int, int]]:
    """Inline code spans: a run of n backticks up to the next run of exactly n (CommonMark)."""
    runs = [(m.start(), m.end()) for m in _BACKTICKS.finditer(text)]
    nxt: list[int] = [-1] * len(runs)
    last: dict[int, int] = {}
    for i in range(len(runs) - 1, -1, -1):  # next run of the same length, in one pass
        size = runs[i][1] - runs[i][0]
        nxt[i] = last.get(size, -1)
        last[size] = i
    spans, i = [], 0
    while i < len(runs):
        j = nxt[i]
        if j < 0:
            i += 1
            continue
        spans.append((runs[i][0], runs[j][1]))
        i = j + 1
    return spans


class _Positions:
    """Where one closing pattern occurs in the text, found in one pass; looked up by bisection."""

    def __init__(self, text: str, pattern: re.Pattern[str]) -> None:
        self.spans = [m.span() for m in pattern.finditer(text)]
        self.starts = [s for s, _ in self.spans]

    def after(self, pos: int) -> tuple[int, int] | None:
        """The first occurrence starting at or after pos."""
        i = bisect_left(self.starts, pos)
        return self.spans[i] if i < len(self.spans) else None


def _strip_tags(text: str) -> str:
    if "{" not in text and "<" not in text:
        return text
    found_in = {key: _Positions(text, pattern) for key, pattern in _ENDS.items()}
    out: list[str] = []
    pos = search = 0
    while True:
        found = _OPENERS.search(text, search)
        if not found:
            break
        span = _span(text, found.group(), found.start(), found_in)
        if span is None:
            search = found.start() + 1
            continue
        end, replacement = span
        out.append(text[pos : found.start()])
        out.append(replacement)
        pos = search = end
    out.append(text[pos:])
    return _EMPTY_LINK.sub(r"\1", "".join(out))


def _span(
    text: str, opener: str, start: int, found_in: dict[str, _Positions]
) -> tuple[int, str] | None:
    """(end, replacement) of the tag or comment opened at start, or None if it is not one."""
    if opener == "{{" and start and text[start - 1] == "$":
        return None  # ${{ expr }}: a CI expression written in prose, not a site template
    close = found_in[opener].after(start + len(opener))
    if close is None or (opener != "<!--" and close[1] - start > MAX_TAG_CHARS):
        return None
    end = close[1]
    name = _TAG_NAME.match(text, start) if opener == "{%" else None
    tag = name.group(1) if name else ""
    if tag in ("comment", "raw"):
        block = found_in[tag].after(end)
        if block is not None:  # a comment goes whole; raw text stays, verbatim
            inner = text[end : block[0]]
            return block[1], "\n" * inner.count("\n") if tag == "comment" else inner
    if tag in _KEEP_ARG:
        arg = _FIRST_ARG.search(text, start, end)
        if arg:
            return end, _KEEP_ARG[tag].format(arg.group(1) or arg.group(2))
    return end, "" if tag in ("raw", "endraw") else "\n" * text.count("\n", start, end)
