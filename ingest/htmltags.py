"""HTML written in Markdown prose: the page renders it, so a reader sees its text, not its tags.

Handbooks put HTML in their Markdown: office tables (`<td class="col-key">`), accordions
(`<button aria-expanded=...>`), `<details>`/`<summary>`, `a<br>b` in table cells, `<sup>`.
Only tags of known HTML elements go (a tag's text stays); `<your-name>` or `<T>` in prose are
not HTML a page would hide, and are kept. `<style>` and `<script>` go with their content. A
removed tag becomes the newlines it held (line numbers still point into the file), else a
space where it separated two words (`<td>a</td><td>b</td>`), else nothing (`<b>a</b>`).

Callers pass prose only: code blocks and inline code spans keep their tags (example text).
Linear time: tags are matched from each "<" up to the next "<" or ">" at most, and the end of
a style or script is found by bisection in positions found once.
"""

from __future__ import annotations

import re
from bisect import bisect_left

_ELEMENTS = frozenset(
    "a abbr address article aside b bdi bdo big blockquote br button caption center cite code "
    "col colgroup dd del details dfn div dl dt em fieldset figcaption figure font footer form "
    "h1 h2 h3 h4 h5 h6 header hr i img input ins kbd label legend li main mark nav ol p picture "
    "pre q s samp section small source span strike strong sub summary sup table tbody td tfoot "
    "th thead time tr tt u ul var video wbr script style".split()
)
# Inline elements join the text around them; any other tag separates words, and so do <sup>
# and <sub>, which mostly hold note markers ("owned<sup>1</sup>" reads as "owned 1").
_INLINE = frozenset(
    "a abbr b bdi bdo big cite code del dfn em font i img ins kbd mark q s samp small span "
    "strike strong time tt u var wbr".split()
)
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]{0,15})(?=[\s/>])[^<>]{0,2000}>")
_HIDDEN_END = re.compile(r"</(script|style)[ \t\n]*>", re.IGNORECASE)


def strip_html(text: str) -> str:
    """The text with the tags of HTML elements removed, and styles and scripts with their
    content; same line count."""
    if "<" not in text:
        return text
    closers: dict[str, list[tuple[int, int]]] = {"script": [], "style": []}
    for found in _HIDDEN_END.finditer(text):
        closers[found.group(1).lower()].append(found.span())
    out: list[str] = []
    pos, last = 0, ""  # last: the last character written, to know if a space is needed
    for match in _TAG.finditer(text):
        name = match.group(2).lower()
        if match.start() < pos or name not in _ELEMENTS:
            continue  # inside a removed style or script, or not HTML
        end = match.end()
        if name in closers and not match.group(1):
            spans = closers[name]
            i = bisect_left(spans, (end, 0))
            end = spans[i][1] if i < len(spans) else end
        kept = text[pos : match.start()]
        out.append(kept)
        last = kept[-1] if kept else last
        gap = _replacement(text, match.start(), end, name, last)
        out.append(gap)
        last = gap[-1] if gap else last
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _replacement(text: str, start: int, end: int, name: str, last: str) -> str:
    """The newlines the removed span held, else a space between two words, else nothing."""
    newlines = text.count("\n", start, end)
    if newlines:
        return "\n" * newlines
    if name in _INLINE or end >= len(text) or text[end].isspace():
        return ""
    return " " if last and not last.isspace() else ""
