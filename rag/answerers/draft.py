"""A generated draft as it streams: stop on repetition, end on a sentence boundary.

Small models loop ("Trust is built by asking for help. Trust is built by asking for help. …").
`Draft.add` takes each streamed piece and says when to stop: a sentence that repeats an earlier
one (citations and case aside), or a run of words already written. `Draft.text` is what is kept:
the repeated part removed and, when the model was cut off, the unfinished last sentence too.
"""

from __future__ import annotations

import re

from rag.text import split_sentences, strip_citations, words

LOOP_WORDS = 8  # this many words written again in the same order = the model is looping
_END = re.compile(r"([.!?][\"”’)]*|\[\d+(?:\s*,\s*\d+)*\])\s*$")


def _norm(sentence: str) -> str:
    return " ".join(words(strip_citations(sentence)))


def _sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans, each line on its own (a model's list items rarely end with a period)."""
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in text.split("\n"):
        spans += [(offset + a, offset + b) for a, b in split_sentences(line)]
        offset += len(line) + 1
    return spans


class Draft:
    """Accumulates streamed text and detects repetition."""

    def __init__(self) -> None:
        self.raw = ""
        self.cut: int | None = None  # where the kept text ends when a repeat was found

    def add(self, piece: str) -> bool:
        """Append a piece; False when the model started repeating itself (stop generating)."""
        self.raw += piece
        cut = self._repeat_start()
        if cut is not None:
            self.cut = cut
            return False
        return True

    def _repeat_start(self) -> int | None:
        """Offset where a repeated sentence or word run begins, if there is one."""
        spans = _sentences(self.raw)
        finished = spans[:-1] if not _END.search(self.raw) and not self.raw.endswith("\n") \
            else spans
        seen: set[str] = set()
        for start, end in finished:
            key = _norm(self.raw[start:end])
            if key and key in seen:
                return start
            seen.add(key)
        tokens = list(re.finditer(r"[A-Za-z0-9']+", self.raw))
        if len(tokens) >= 2 * LOOP_WORDS:
            tail = tuple(t.group().lower() for t in tokens[-LOOP_WORDS:])
            lowered = [t.group().lower() for t in tokens[:-LOOP_WORDS]]
            for i in range(len(lowered) - LOOP_WORDS + 1):
                if tuple(lowered[i : i + LOOP_WORDS]) == tail:
                    return tokens[-LOOP_WORDS].start()
        return None

    def text(self) -> str:
        """The kept draft: up to a repeat, and ending on a finished sentence when possible."""
        kept = self.raw if self.cut is None else self.raw[: self.cut]
        kept = kept.rstrip()
        if not kept or _END.search(kept):
            return kept
        spans = _sentences(kept)
        finished = [s for s in spans if _END.search(kept[: s[1]])]
        return kept[: finished[-1][1]] if finished else kept
