"""Escaped HTML for answers and their sources.

Every piece of article text and model output goes through `html.escape` here, and the only tags
in the result are the ones written below; the Chatbot's own sanitiser is a second line of defence.
Works on `Answer.to_json()` dicts, so it renders whatever the answerers put in the shared fields
(refused, query, citations[].spans, sentences[].verified, notice).
"""

from __future__ import annotations

import re
from html import escape
from typing import Any
from urllib.parse import quote

from ui.freshness import freshness_html
from ui.markdown import passage_html

_MARKER = re.compile(r"\[(\d+)\]")

PENDING = '<div class="pb-pending">Searching the playbook…</div>'


def article_href(source: str, anchor: str = "") -> str:
    """Relative link to the article page, scrolled to `anchor`."""
    href = f"article?src={quote(source, safe='/')}"
    if anchor:
        href += f"&anchor={quote(anchor, safe='')}#{quote(anchor, safe='')}"
    return href


def highlight(text: str, spans: list[Any]) -> str:
    """Escaped `text` with the character `spans` wrapped in <mark>; bad spans are ignored."""
    clean: list[tuple[int, int]] = []
    for span in spans or []:
        try:
            start, end = max(0, int(span[0])), min(len(text), int(span[1]))
        except (TypeError, ValueError, IndexError):
            continue
        if start < end:
            clean.append((start, end))
    merged: list[list[int]] = []
    for start, end in sorted(clean):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, pos = [], 0
    for start, end in merged:
        out.append(escape(text[pos:start]))
        out.append(f"<mark>{escape(text[start:end])}</mark>")
        pos = end
    out.append(escape(text[pos:]))
    return "".join(out)


_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")


def answer_text_html(text: str) -> str:
    """The answer text, escaped, with [n] markers styled as citation badges.

    Lines starting with "- ", "* " or "1. " become a list; nothing else is interpreted.
    """
    out: list[str] = []
    items: list[str] = []
    for line in (text or "").split("\n"):
        if _BULLET.match(line):
            items.append(f"<li>{escape(_BULLET.sub('', line, count=1))}</li>")
            continue
        if items:
            out.append(f'<ul class="pb-list">{"".join(items)}</ul>')
            items = []
        out.append(escape(line) + "<br>")
    if items:
        out.append(f'<ul class="pb-list">{"".join(items)}</ul>')
    body = "".join(out).removesuffix("<br>")
    return _MARKER.sub(r'<sup class="pb-cite">[\1]</sup>', body)


def question_html(question: str) -> str:
    """The user's message, escaped."""
    return f'<div class="pb-user">{escape(question)}</div>'


def streaming_html(partial: str) -> str:
    """What the chat shows while tokens arrive."""
    return f'<div class="pb-answer pb-streaming">{answer_text_html(partial)}</div>'


def cited_numbers(answer: dict[str, Any]) -> list[int]:
    """Citation numbers that appear as [n] in the answer text, in order of first use."""
    seen = dict.fromkeys(int(n) for n in _MARKER.findall(str(answer.get("answer", ""))))
    known = {c.get("n") for c in answer.get("citations", [])}
    return [n for n in seen if n in known]


def where_parts(cite: dict[str, Any]) -> list[str]:
    """Article title then heading path of a citation (plain text)."""
    title, heading = str(cite.get("title", "")), str(cite.get("heading", ""))
    path = [h.strip() for h in heading.split(" > ") if h.strip()] if heading != title else []
    if path and path[0] == title:  # an H1 repeating the title adds nothing
        path = path[1:]
    return [title, *path]


def _where(cite: dict[str, Any]) -> str:
    return ' <span class="pb-sep">›</span> '.join(escape(p) for p in where_parts(cite))


def source_html(cite: dict[str, Any], *, open_: bool) -> str:
    """One source card: number, title › heading path, passage with cited spans, open link."""
    href = escape(article_href(str(cite.get("source", "")), str(cite.get("anchor", ""))))
    passage = passage_html(str(cite.get("text", "")), cite.get("spans", []))
    score = cite.get("score")
    score_html = (
        f'<span class="pb-score" title="similarity to the question">{float(score):.2f}</span>'
        if isinstance(score, int | float) else ""
    )
    return (
        f'<details class="pb-source"{" open" if open_ else ""}>'
        f'<summary><span class="pb-n">[{int(cite.get("n", 0))}]</span> '
        f'<span class="pb-where">{_where(cite)}</span> {score_html}{freshness_html(cite)}'
        "</summary>"
        f'<div class="pb-passage">{passage}</div>'
        f'<a class="pb-open" href="{href}" target="_blank" rel="noopener">'
        f"Open the article at this heading ↗</a></details>"
    )


def sources_html(answer: dict[str, Any]) -> str:
    """Cited sources (open), then the other retrieved passages (folded away)."""
    cites = answer.get("citations", [])
    used = cited_numbers(answer)
    by_n = {c.get("n"): c for c in cites}
    parts = [source_html(by_n[n], open_=True) for n in used]
    others = [c for c in cites if c.get("n") not in used]
    html = ""
    if parts:
        html += '<div class="pb-sources"><div class="pb-label">Sources</div>' + "".join(parts)
        html += "</div>"
    if others:
        label = "Other passages retrieved" if parts else "Passages retrieved"
        inner = "".join(source_html(c, open_=False) for c in others)
        html += (
            f'<div class="pb-sources pb-others"><div class="pb-label">{label}</div>{inner}</div>'
        )
    return html


def nearest_articles_html(answer: dict[str, Any]) -> str:
    """The distinct articles of the retrieved passages, best first, as links."""
    items, seen = [], set()
    for cite in answer.get("citations", []):
        key = cite.get("article_id")
        if key in seen:
            continue
        seen.add(key)
        href = escape(article_href(str(cite.get("source", "")), str(cite.get("anchor", ""))))
        items.append(
            f'<li><a href="{href}" target="_blank" rel="noopener">{_where(cite)}</a></li>'
        )
    if not items:
        return '<p class="pb-muted">No article is close to this question.</p>'
    return (
        '<div class="pb-label">Nearest articles</div>'
        f'<ul class="pb-nearest">{"".join(items)}</ul>'
    )


def _query_html(answer: dict[str, Any]) -> str:
    """The searched query, when it differs from the question (a follow-up made standalone)."""
    query, question = str(answer.get("query", "")), str(answer.get("question", ""))
    if not query or query.strip() == question.strip():
        return ""
    return f'<div class="pb-query">Searched for: <q>{escape(query)}</q></div>'


def answer_html(answer: dict[str, Any]) -> str:
    """The full chat message for a finished answer (an `Answer.to_json()` dict)."""
    notice = str(answer.get("notice", "") or "")
    notice_html = f'<div class="pb-notice">{escape(notice)}</div>' if notice else ""
    head = _query_html(answer)
    if answer.get("refused"):
        return (
            f'<div class="pb-refused">{head}<div class="pb-refused-title">'
            f"Not covered by the playbook</div>"
            f'<div class="pb-answer">{answer_text_html(str(answer.get("answer", "")))}</div>'
            f"{nearest_articles_html(answer)}</div>{notice_html}"
        )
    return (
        f'{head}<div class="pb-answer">{answer_text_html(str(answer.get("answer", "")))}</div>'
        f"{notice_html}{answered_by_html(answer)}{sources_html(answer)}"
    )


def answered_by_html(answer: dict[str, Any]) -> str:
    """Who wrote the answer: the language model by name, or quotes chosen without one."""
    model, answerer = str(answer.get("model", "") or ""), str(answer.get("answerer", ""))
    if model:
        text = f"Written by {model} ({answerer.split('>')[0]}), sentences checked against sources"
    elif answerer:
        text = "Quoted from the sources (extractive, no language model)"
    else:
        return ""
    return f'<div class="pb-model">{escape(text)}</div>'



def error_html(message: str) -> str:
    """A user-facing error shown in place of an answer."""
    return f'<div class="pb-error">{escape(message)}</div>'
