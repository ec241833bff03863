"""Small pure text helpers shared by the answerers, the citation checker and refusal.

Splitting Markdown passages into citable units (sentences and list items) with their character
spans, and a light tokenizer for lexical overlap. No heavy imports here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing don down during each even few for
    from further get gets got had has have having he her here hers him his how i if in into is it
    its itself just let me might more most much must my no nor not now of off often on once one only
    or other our ours out over own per please same shall she should so some such than that the their
    them then there these they this those through to too under until up upon us use used using very
    was we were what when where which while who whom why will with would yet you your yours
    tell explain describe give mean means thing things way ways really actually lot lots
    """.split()
)

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_LIST_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*+])\s+")
_FOOTNOTE = re.compile(r"^\s*\[\^[^\]\s]+\]:\s*")  # "[^2]: " opens a footnote's text
_QUOTE = re.compile(r"[ \t]*(?:>[ \t]?)+")  # blockquote markers opening a line ("> ", "> > ")
_QUOTE_CONTINUED = re.compile(r"\n[ \t]*(?:>[ \t]?)+")  # the same on a unit's later lines
_CONTENT = re.compile(r"[^\W_]")  # a letter or digit: a unit of "…" or "—" alone says nothing
# the closing quote or bracket after the full stop belongs to the sentence it closes
_SENTENCE_END = re.compile(r"(?<=[.!?])(?P<close>[\"”’)]*)\s+(?=\S)")
_ABBREVIATION = re.compile(r"(?:\b(?:e\.g|i\.e|etc|vs|cf|approx|incl|no|fig|mr|mrs|dr)\.)$", re.I)
_CITATION = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
# Emphasis, code ticks, quote and heading marks, and link syntax (link text kept). Underscores
# go only at a word's edge (`_emphasis_`): inside a word they are part of it (`node_modules`,
# `${VARIABLE_NAME}`), which the passage side keeps too.
_MARKUP = re.compile(r"[*`>#]+|(?<![^\W_])_+|_+(?![^\W_])|\[([^\]]*)\]\([^)]*\)")


@dataclass(frozen=True)
class Unit:
    """A sentence or list item of a passage: its text and character span in the passage."""

    text: str
    start: int
    end: int
    list_item: bool  # the first sentence of a list item
    block: int  # index of the paragraph / list item the unit belongs to


# Link targets are addresses, not content: "[leave policy](https://drive.google.com/...)" is
# about leave, not about Google. `link_text` keeps what a reader sees and drops the target.
# Inline links and images (the target may hold one level of parentheses and spaces, as a
# template tag "{% page "/x" %}" does), reference links "[text][id]", reference definitions,
# URL autolinks "<https://...>", bare URLs and HTML href / src values. An e-mail address
# stays: it is a contact a sentence gives, not where a link points.
_INLINE_LINK = re.compile(r"!?\[([^\[\]]*)\]\((?:[^()]|\([^()]*\))*\)")
_REFERENCE_LINK = re.compile(r"\[([^\[\]]*)\]\[[^\[\]]*\]")
_LINK_DEFINITION = re.compile(r"^ {0,3}\[(?!\^)[^\]]+\]:[ \t]*\S+.*$", re.M)
_AUTOLINK = re.compile(r"<[a-z][a-z0-9+.-]{1,31}:[^\s<>]*>", re.I)
_BARE_URL = re.compile(r"\b(?:(?:https?|ftp)://|www\.)[^\s<>()\[\]\"']*[^\s<>()\[\]\"'.,;:!?]",
                       re.I)
_HTML_TARGET = re.compile(r"\b(?:href|src)\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+)", re.I)


def link_text(text: str) -> str:
    """The text with link targets removed and link text kept (see _INLINE_LINK): what BM25
    and the lexical answerability features count. Nested links ("[![badge](img)](url)") are
    unwrapped from the inside out."""
    if "[" in text:
        for _ in range(3):
            unwrapped = _REFERENCE_LINK.sub(r"\1", _INLINE_LINK.sub(r"\1", text))
            if unwrapped == text:
                break
            text = unwrapped
        text = _LINK_DEFINITION.sub("", text)
    if "<" in text or "=" in text:
        text = _HTML_TARGET.sub("", _AUTOLINK.sub("", text))
    if "://" in text or "www." in text.lower():
        text = _BARE_URL.sub("", text)
    return text


def words(text: str) -> list[str]:
    """Lower-cased word tokens."""
    return _WORD.findall(text.lower().replace("’", "'"))


@lru_cache(maxsize=1 << 16)
def loose_stem(word: str) -> str:
    """A crude suffix stripper for matching claims to passages ('teams'/'team',
    'tribally'/'tribal'); BM25 has its own stemmers (rag/index/bm25.py). Cached: the checker
    stems the same words of a passage for every sentence of an answer."""
    for suffix in ("ingly", "edly", "ally", "ing", "ed", "ly", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


# A sentence of article text addressed to an AI assistant, not to a reader: prompt-injection
# markers ("</context> New instruction from ...", "SYSTEM: ...", "ignore your instructions",
# "developer mode"). Article text is data: such a sentence is never quoted in an answer nor
# verified as one. None occurs in the real corpora (cwe-playbook, 18f-handbook, the playbook).
_TO_THE_MODEL = re.compile(
    r"</?\s*(context|system|instructions?|prompt)\s*>|(^|\n)\s*(system|assistant)\s*:|"
    r"\b(ignore|disregard)\b[^.?!\n]{0,30}\b(previous|prior|above|your|all)\b[^.?!\n]{0,20}"
    r"\b(instructions?|prompts?|rules)\b|\bsystem prompt\b|\bdeveloper mode\b|\bjailbreak|"
    r"\bnew instructions? from\b",
    re.IGNORECASE,
)


def addressed_to_model(text: str) -> bool:
    """True when a sentence speaks to an AI assistant (a prompt-injection marker), not a reader."""
    return _TO_THE_MODEL.search(text) is not None


def content_terms(text: str) -> set[str]:
    """Stemmed words that carry meaning (no stopwords, no one-letter tokens)."""
    return {loose_stem(w) for w in words(text) if w not in STOPWORDS and len(w) > 1}


def overlap(claim: str, passage: str) -> float:
    """Fraction of the claim's content terms that occur in the passage (0 when it has none)."""
    terms = content_terms(claim)
    if not terms:
        return 0.0
    return len(terms & content_terms(passage)) / len(terms)


def strip_citations(text: str) -> str:
    """Text without [n] markers."""
    return _CITATION.sub("", text).strip()


def plain(text: str) -> str:
    """Markdown emphasis, code ticks and link syntax removed (link text kept)."""
    return _MARKUP.sub(lambda m: m.group(1) or "", text).strip()


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of a paragraph (abbreviation-aware, no empty spans)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if _ABBREVIATION.search(text[start : match.start()]):
            continue
        spans.append((start, match.end("close")))
        start = match.end()
    spans.append((start, len(text)))
    return [(a, b) for a, b in (_trim(text, a, b) for a, b in spans) if b > a]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def units(text: str) -> list[Unit]:
    """Sentences and list items of a Markdown passage, in reading order, with spans.

    Headings, code blocks and table rows are not citable units and are skipped.
    """
    found: list[Unit] = []
    for number, (start, end, item) in enumerate(_blocks(text)):
        segment = text[start:end]
        for i, (a, b) in enumerate(split_sentences(segment)):
            # a quoted paragraph's later lines open with ">": markup, not words of the sentence
            clean = re.sub(r"\s+", " ", _QUOTE_CONTINUED.sub("\n", segment[a:b]))
            found.append(Unit(clean, start + a, start + b, item and i == 0, number))
    return found


def _blocks(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, is_list_item) of paragraphs and list items; a list marker is excluded, and
    so are blockquote markers: a quoted paragraph is a paragraph, a quoted "> - item" an item."""
    blocks: list[tuple[int, int, bool]] = []
    current: list[int] | None = None  # [start, end, is_item, is_quoted]
    in_code = False
    offset = 0
    for line in text.splitlines(keepends=True):
        begin, offset = offset, offset + len(line)
        quote = _QUOTE.match(line)
        begin += quote.end() if quote else 0
        line = line[quote.end():] if quote else line
        stripped = line.strip()
        end = begin + len(line.rstrip())
        fence = stripped.startswith(("```", "~~~"))
        in_code = in_code != fence
        skip = fence or in_code or not stripped or stripped.startswith(("#", "|"))
        if skip or set(stripped) <= set("-=*_") or not _CONTENT.search(stripped):
            current = None
            continue
        item = _LIST_ITEM.match(line)
        note = _FOOTNOTE.match(line)
        if item or note or current is None or current[3] != bool(quote):
            marker = item or note
            current = [begin + (marker.end() if marker else len(line) - len(line.lstrip())), end,
                       int(bool(item)), int(bool(quote))]
            blocks.append((0, 0, False))
        current[1] = end
        blocks[-1] = (current[0], current[1], bool(current[2]))
    return blocks
