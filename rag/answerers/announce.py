"""A sentence that announces a list ("…take care of these things on your side:") is not quoted
without its list.

The answer's steps pick units one by one: rag/answerers/shape.py quotes a list with its lead-in
when the list answers the question, fill.py brings a list the chunker cut off, but fill.py may
also add an announcing sentence for its words alone ("If you're the last to leave your side of
the office, take care of these things on your side:" for "What should I do before I leave on
vacation?"). An answer that ends on a promise it does not keep reads as broken, so, once the
answer is shaped and filled, a paragraph sentence ending with ":" whose line is not followed by
bullets of its own article is dropped (the answer is left as it is when nothing else would
remain). A list item ending with ":" stays: it is one of its list's items. Deterministic,
microseconds.
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.answerers.shape import Line
from rag.answerers.structure import opens_list
from rag.retrieve import Passage


def without_dangling(lines: list[Line], passages: Sequence[Passage]) -> list[Line]:
    """`lines` without announcing sentences whose list does not follow (module docstring)."""
    out: list[Line] = []
    for number, line in enumerate(lines):
        if line.more or line.bullet:
            out.append(line)
            continue
        # a remark may sit between the sentence and its list, in the same line (a list's
        # lead-in, structure._lead): the list follows the line, not the sentence
        kept = [c for c in line.parts if not opens_list(c.unit.text)
                or _followed(c, lines[number + 1:], passages)]
        if kept:
            out.append(Line(kept, bullet=False))
    return out if any(line.parts and not line.more for line in out) else lines


def _followed(cand, rest: list[Line], passages: Sequence[Passage]) -> bool:  # noqa: ANN001
    """True when the next line is a bullet of the same article after the announcement: later
    in its passage, or in the next chunk (fill.continued_list brings a list cut by the chunker)."""
    if not rest or not rest[0].bullet or not rest[0].parts:
        return False
    first = rest[0].parts[0]
    if first.index == cand.index:
        return bool(first.unit.start > cand.unit.start)
    return bool(passages[first.index].first.article_id == passages[cand.index].first.article_id)
