"""Keeping an extractive answer short: a word budget over the shaped answer.

rag/answerers/fill.py only adds units that fit in the budget, but the shaped answer itself (a
long list, a list plus the sentences that score with it, two lists for a two-part question) can
be longer. A person answering would give the first items of a long list and say how many more
there are, and would leave out the least relevant asides. So, while the answer is over budget:
1. the lowest-scoring paragraph line after the first line is dropped (an aside: for a list
   question the list is the answer);
2. else the longest list run (consecutive bullets of one passage) longer than MIN_ITEMS loses its
   last shown item to a cited "… N more: A; B" line that names the hidden items (never one
   of its items that scores with the best unit: that is what the question asked about).
The first line (the best unit), a list's lead-in and a closing rule right after a list stay.
Deterministic, microseconds.
"""

from __future__ import annotations

from rag.answerers.fill import words_of
from rag.answerers.shape import MARGIN, Line

MIN_ITEMS = 3  # a list keeps at least this many items before it is shortened


def trim(lines: list[Line], budget: int) -> list[Line]:
    """`lines` cut to `budget` words (`Settings.extractive_words`; see the module docstring);
    the order is kept."""
    lines = list(lines)
    if not lines:
        return lines
    top = max(c.score for line in lines if not line.more for c in line.parts)
    while words_of(lines) > budget:
        if _drop_aside(lines) or _shorten_list(lines, top):
            continue
        break  # nothing left to cut: the first line and short lists only
    return lines


def _runs(lines: list[Line]) -> list[tuple[int, int]]:
    """(start, end) of each run of item bullets of one passage, a trailing "more" line included."""
    runs: list[tuple[int, int]] = []
    start = None
    for i, line in enumerate([*lines, Line([], bullet=False)]):
        same = (start is not None and line.bullet and line.parts
                and line.parts[0].index == lines[start].parts[0].index
                and not lines[i - 1].more)
        if start is not None and not same:
            runs.append((start, i))
            start = None
        if start is None and line.bullet and not line.more and line.parts:
            start = i
    return runs


def _shorten_list(lines: list[Line], top: float) -> bool:
    """Hide the last shown item of the longest list run that may be shortened (in place)."""
    best = None
    for start, end in _runs(lines):
        items = [i for i in range(start, end) if not lines[i].more]
        hidable = [i for i in items[MIN_ITEMS:]
                   if max(c.score for c in lines[i].parts) < top - MARGIN]
        if hidable and (best is None or len(items) > best[0]):
            best = (len(items), hidable[-1], end)
    if best is None:
        return False
    _, item, end = best
    more = lines[end - 1] if lines[end - 1].more else None
    head = lines.pop(item).parts[0]
    if more is not None:
        more.more += 1
        more.hidden.append(head)
    else:
        lines.insert(end - 1, Line([lines[end - 2].parts[0]], bullet=True, more=1, hidden=[head]))
    return True


def _drop_aside(lines: list[Line]) -> bool:
    """Drop the lowest-scoring paragraph line after the first one (in place); the lead-in right
    before a list and a closing rule right after one are kept: the list needs them."""
    asides = [i for i, line in enumerate(lines) if i and not line.bullet and not line.more
              and not (lines[i - 1].bullet and _is_closing(line))
              and not (i + 1 < len(lines) and lines[i + 1].bullet)]
    if not asides:
        return False
    del lines[min(asides, key=lambda i: (max(c.score for c in lines[i].parts), -i))]
    return True


def _is_closing(line: Line) -> bool:
    """A short paragraph line (the closing rule shape.py adds after a list)."""
    return sum(len(c.unit.text.split()) for c in line.parts) <= 40
