"""Markup that is not content: template tags, HTML comments and tags (ingest/htmltags.py),
reference-link definitions (the links that use a definition become inline links).

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

from ingest.htmltags import strip_html

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
# Shortcodes whose output is content, as the 18F handbook's own shortcodes print it. A Slack
# channel is an answer ("ask in #people-ops"); one given a display name shows that name, which
# becomes a link to the channel (`[People Ops](#people-ops)`: the page's words, and the channel
# still searchable). An alert shows its heading.
_SHORTCODES = {"slack_channel", "alert"}
_ARG = re.compile(r"\"([^\"\n]{0,200})\"|'([^'\n]{0,200})'")
# [label]: destination "optional title": a link definition, never shown on the page. The
# destination must look like one (a URL, a path, an anchor, a tag) so "[Note]: Danger" stays.
# Footnotes ([^1]: text) are content and excluded. Every part is deterministic (no two
# adjacent quantifiers over the same characters), so a line is matched in linear time.
_REF_DEF = re.compile(
    r" {0,3}\[(?!\^)(?P<label>[^\[\]\n]{1,999})\]:[ \t]*"
    r"(?P<dest><[^<>\n]*>|\{%[^%\n]*%\}|\{\{[^}\n]*\}\}|(?=\S*[/:.#])[^\s\"'(<]\S*)"
    r"[ \t]*(?:(?:\"[^\"\n]*\"|'[^'\n]*'|\([^()\n]*\))[ \t]*)?\Z"
)
# A definition may put its destination on the next line: "[label]:" then "  https://...".
_REF_LABEL = re.compile(r" {0,3}\[(?!\^)(?P<label>[^\[\]\n]{1,999})\]:[ \t]*\Z")
_REF_NEXT = re.compile(
    r"[ \t]*(?P<dest><[^<>\n]*>|\{%[^%\n]*%\}|(?=\S*[/:.#])[^\s\"'(<]\S*)"
    r"[ \t]*(?:(?:\"[^\"\n]*\"|'[^'\n]*'|\([^()\n]*\))[ \t]*)?\Z"
)
# A link using a definition: "[text][label]" or "[text][]" (the label is the text). Its
# definition is gone, so it becomes an inline link to the definition's destination, or its bare
# text when that destination was only a template tag. A label defined nowhere is left as written.
_REF_USE = re.compile(r"\[([^\[\]]*)\]\[([^\[\]\n]{0,999})\]")
_LITERAL = re.compile(r"\{\{-?[ \t]*(?:\"([^\"\n]*)\"|'([^'\n]*)')[ \t]*-?\}\}")  # {{ "x" }}
_EMPTY_LINK = re.compile(r"\[([^\[\]]*)\]\([ \t]*\)")  # what "[text]({% page %})" leaves
_BACKTICKS = re.compile(r"`+")


def strip_non_content(body: str) -> str:
    """The body without template tags, HTML comments and link definitions (the links using
    them made inline); same line count."""
    definitions: dict[str, str] = {}  # normalised label -> destination ("" = only a tag)
    segments = [(code, text if code else _blank_link_definitions(text, definitions))
                for code, text in _fence_segments(body)]
    return "".join(_raw_markers_only(text) if code else _strip_prose(text, definitions)
                   for code, text in segments)


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
            closing = line.strip()
            if closing.startswith(fence) and not closing.strip(fence[0]):
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


def _strip_prose(text: str, definitions: dict[str, str]) -> str:
    """Tags, comments and HTML tags removed and reference links made inline, outside inline
    code spans (the link definitions are blanked already)."""
    out: list[str] = []
    pos = 0
    for start, end in code_spans(text):
        out.append(_inline_references(strip_html(_strip_tags(text[pos:start])), definitions))
        out.append(_inline_code(text[start:end]))
        pos = end
    out.append(_inline_references(strip_html(_strip_tags(text[pos:])), definitions))
    return "".join(out)


def _label(text: str) -> str:
    return " ".join(text.split()).casefold()


def _destination(dest: str) -> str:
    """A definition's destination as an inline link target ("" for a template tag)."""
    if dest.startswith(("{%", "{{")):
        return ""
    return dest[1:-1] if dest.startswith("<") else dest


def _inline_references(text: str, definitions: dict[str, str]) -> str:
    if not definitions or "][" not in text:
        return text

    def inline(match: re.Match[str]) -> str:
        words, label = match.group(1), match.group(2)
        dest = definitions.get(_label(label or words))
        if dest is None:
            return match.group()
        return f"[{words}]({dest})" if dest else words

    return _REF_USE.sub(inline, text)


def _inline_code(span: str) -> str:
    """Inline code as the reader sees it: `{% raw %}x{% endraw %}` and `{{ "x" }}` print x
    (how templated pages show a tag); anything else in code is example text, kept."""
    if "{" not in span:
        return span
    return _LITERAL.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2),
                        _raw_markers_only(span))


def _blank_link_definitions(text: str, definitions: dict[str, str]) -> str:
    """The text with its link definitions blanked; each is added to `definitions` (the first
    definition of a label wins, as in CommonMark)."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line.lstrip(" ").startswith("[") or len(line) > 2000:
            continue
        if found := _REF_DEF.match(line):
            label, dest = found["label"], found["dest"]
            lines[i] = ""
        elif i + 1 < len(lines) and (found := _REF_LABEL.match(line)) \
                and len(lines[i + 1]) <= 2000 and (after := _REF_NEXT.match(lines[i + 1])):
            label, dest = found["label"], after["dest"]
            lines[i] = lines[i + 1] = ""
        else:
            continue
        definitions.setdefault(_label(label), _destination(dest))
    return "\n".join(lines)


def code_spans(text: str) -> list[tuple[int, int]]:
    """Inline code spans: a run of n backticks up to the next run of exactly n on the same
    line (CommonMark lets a span cross lines; one stray backtick must not hide a page)."""
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in text.split("\n"):
        if "`" in line:
            spans.extend((offset + a, offset + b) for a, b in _line_code_spans(line))
        offset += len(line) + 1
    return spans


def _line_code_spans(text: str) -> list[tuple[int, int]]:
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


def _shortcode_text(tag: str, args: list[str]) -> str:
    """What a content shortcode prints, from its quoted arguments ("" for nothing)."""
    first = args[0].strip() if args else ""
    if tag == "alert" or not first:
        return first
    channel = "#" + first.lstrip("#")
    name = args[1].strip() if len(args) > 1 else ""
    return f"[{name}]({channel})" if name else channel


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
    if opener == "{{":
        literal = _LITERAL.fullmatch(text, start, end)
        if literal:  # {{ "text" }} prints the text: content, as the reader sees it
            return end, literal.group(1) if literal.group(1) is not None else literal.group(2)
    if tag in _SHORTCODES:
        shown = _shortcode_text(tag, [a or b for a, b in _ARG.findall(text, start, end)])
        if shown:
            return end, shown
    return end, "" if tag in ("raw", "endraw") else "\n" * text.count("\n", start, end)
