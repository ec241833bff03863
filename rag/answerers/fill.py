"""Rounding out a short extractive answer: the other answer-bearing sentences, up to a budget.

The shaped answer (rag/answerers/shape.py) is built around the best unit: its list, its item or
its paragraph. A question often spans more than that ("what is X and how is it propagated?",
"what should we check before adding a library?"): its answer is spread over several paragraphs or
articles among the passages. This step adds, most relevant first, units that score near the best
one and bring words the answer does not have yet (a maximal-marginal-relevance pick), until the
answer reaches a budget of words, so it stays a short answer of a few sentences.

Never added: units of a list that answers another intent than the question's, fragments, link
lines, and units of articles the answer does not cite yet unless they score nearly with the best
unit (an unrelated article's sentences only pad the answer).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rag.answerers.shape import Line, owners_of
from rag.answerers.structure import ANNOUNCING, POINTER, conflicts, opens_list
from rag.chunk import Chunk
from rag.retrieve import Passage
from rag.text import STOPWORDS, content_terms, words

# The answer stops growing before it passes `Settings.extractive_words` (150): a person's answer
# is short. Only units that fit are added (the last one used to overshoot: 28 of 50 cwe-dev
# answers went past 150 words); a shaped answer already longer is cut by rag/answerers/budget.py.
FILL_MARGIN = 0.6  # a unit of an article the answer already cites: within this of the best
# A unit of another article must score nearly with the best: a loose margin let "How do I
# approach a tribal team?" fill up with onboarding and code-review sentences. Re-calibrated on
# the dev splits together once only units that fit are added (the budget, not the margin, now
# bounds the answer): 0.15 / 0.25 / 0.35 gave key-point recall cwe-dev 0.685 / 0.685 / 0.682,
# 18f-dev 0.646 / 0.669 / 0.664, playbook 0.974 throughout; 0.25 is the shortest on the plateau.
FOREIGN_MARGIN = 0.25
REDUNDANCY = 0.8  # weight of the share of a unit's words the answer already has
MIN_WORDS = 5  # shorter units ("Past experiences", a bare link) are not worth a line
MAX_UNIT_WORDS = 60  # a very long sentence would use the budget alone


def drop_repeats(lines: list[Line]) -> list[Line]:
    """`lines` without a line that says nothing an earlier line of its kind (bullet or
    paragraph) does not: its words (numbers of any length included, stopwords not) are all in
    that line. That is the same advice copied into two articles, or differing only in
    punctuation such as an escaped dash; the first, better-ranked copy stays. A list item that
    repeats a paragraph stays (it belongs to its list), and so does a list's lead-in."""
    kept: list[Line] = []
    said: list[tuple[bool, set[str]]] = []
    for i, line in enumerate(lines):
        terms = {w for c in line.parts for w in words(c.unit.text) if w not in STOPWORDS}
        lead_in = not line.bullet and i + 1 < len(lines) and lines[i + 1].bullet
        if not line.more and not lead_in and terms and any(
                bullet == line.bullet and terms <= earlier for bullet, earlier in said):
            continue
        kept.append(line)
        said.append((line.bullet, terms))
    return kept


def words_of(lines: Sequence[Line]) -> int:
    """Words the answer's lines show: the quoted units, a bullet's marker, a "… N more items"
    line (the words a reader sees, citation markers aside)."""
    return sum(line_words(line) for line in lines)


def line_words(line: Line) -> int:
    """Words one line shows (see `words_of`)."""
    if line.more:
        return len(line.more_words().split()) + 1  # "- … N more: A; B"
    return sum(len(c.unit.text.split()) for c in line.parts) + line.bullet


def fill(  # noqa: ANN001
    lines: list[Line], scored: list, passages: Sequence[Passage], wanted: frozenset[str],
    budget: int,
) -> list[Line]:
    """`lines` plus the best remaining units that fit in `budget` words (reading order kept)."""
    if not lines or not scored:
        return lines
    have = {(c.index, c.unit.start) for line in lines for c in line.parts}
    terms = set().union(*(content_terms(c.unit.text) for line in lines for c in line.parts))
    total = words_of(lines)
    pool = _pool(scored, passages, wanted, have)
    added = []
    while pool and total < budget:
        pick = max(pool, key=lambda c: _gain(c, terms))
        pool.remove(pick)
        own = content_terms(pick.unit.text)
        size = len(pick.unit.text.split()) + pick.unit.list_item
        if not own - terms or total + size > budget:  # nothing new to say, or too long
            continue
        added.append(pick)
        terms |= own
        total += size
    return _place(lines, added)


def _pool(scored: list, passages: Sequence[Passage], wanted: frozenset[str],  # noqa: ANN001
          have: set[tuple[int, int]]) -> list:
    """Units that may be added: near the best score, not excluded by their kind or form."""
    owners = owners_of(passages)
    top = max(c.score for c in scored)
    cited = {passages[index].first.article_id for index, _ in have}
    shown = {id(owners[key]) for key in have if key in owners}  # lists already in the answer
    pool = []
    for cand in scored:
        key = (cand.index, cand.unit.start)
        owner = owners.get(key)
        size = len(cand.unit.text.split())
        margin = FILL_MARGIN if passages[cand.index].first.article_id in cited else FOREIGN_MARGIN
        if key in have or cand.score < top - margin or cand.continuation:
            continue
        if owner is not None and (conflicts(owner.kind, wanted) or id(owner) in shown):
            continue  # another intent's list, or one whose items shape.py already chose
        if size < MIN_WORDS or size > MAX_UNIT_WORDS or POINTER.match(cand.unit.text) \
                or opens_list(cand.unit.text):
            continue  # (a sentence announcing a list is no answer without its list)
        pool.append(cand)
    return pool


def _gain(cand, terms: set[str]) -> float:  # noqa: ANN001
    """Relevance minus redundancy with what the answer already says."""
    own = content_terms(cand.unit.text)
    seen = len(own & terms) / len(own) if own else 1.0
    return cand.score - REDUNDANCY * seen


def _place(lines: list[Line], added: list) -> list[Line]:  # noqa: ANN001
    """Added units as their own lines, after the shaped answer, in reading order."""
    extra = sorted(added, key=lambda c: (c.index, c.unit.start))
    return lines + [Line([c], bullet=c.unit.list_item) for c in extra]


def continued_list(  # noqa: ANN001
    lines: list[Line], scored: list, passages: list[Passage],
    extend: Callable[[Chunk, int], tuple[Passage, list] | None] | None = None,
) -> list[Line]:
    """When the answer quotes a sentence announcing a list ("…the following:") that ends its
    passage, and the article's next chunk starts with the list, the list's items (first
    sentences, in order) follow the sentence, cited to that chunk.

    When no passage holds that chunk, `extend(last chunk, new index)` may fetch it as a new
    passage with its candidates, appended to `passages` only when its items are used (the
    list was cut by the chunker, so the retriever had no reason to rank its continuation)."""
    by_key = {(c.index, c.unit.start): c for c in scored}
    for number, line in enumerate(lines):
        last = line.parts[-1]
        if line.more or not _continues(line, passages):
            continue
        chunk = passages[last.index].chunks[-1]
        follow = [j for j, p in enumerate(passages)
                  if p.first.article_id == chunk.article_id and p.first.position ==
                  chunk.position + 1]
        fetched = None
        if not follow and extend is not None and (fetched := extend(chunk, len(passages))):
            by_key.update({(c.index, c.unit.start): c for c in fetched[1]})
            follow = [len(passages)]
        if not follow:
            continue
        items = _leading_items(follow[0], [*passages, *(fetched[:1] if fetched else [])], by_key)
        shown = {(c.index, c.unit.start) for ln in lines for c in ln.parts}
        items = [c for c in items if (c.index, c.unit.start) not in shown]
        if items:
            if fetched:
                passages.append(fetched[0])
            return lines[: number + 1] + [Line([c], bullet=True) for c in items] + \
                lines[number + 1:]
    return lines


def _continues(line: Line, passages: Sequence[Passage]) -> bool:
    """True when the line's last unit announces a list and ends its passage (a list inside the
    passage is shape.py's). The last item of a list cut at a passage's end was tried as a
    trigger too: it made cwe-dev answers longer and lost key points (0.685 -> 0.680)."""
    last = line.parts[-1]
    return bool(ANNOUNCING.search(last.unit.text.rstrip())) and \
        last.unit.end >= len(passages[last.index].text.rstrip()) - 1


def _leading_items(index: int, passages: Sequence[Passage], by_key: dict) -> list:
    """Head sentences of the list items a passage starts with (empty if it starts otherwise)."""
    from rag.text import units

    found: list = []
    for unit in units(passages[index].text):
        if not unit.list_item and not found:
            return []
        if unit.list_item and (cand := by_key.get((index, unit.start))) is not None:
            found.append(cand)
        elif not unit.list_item and unit.block != found[-1].unit.block:
            break  # a paragraph after the list ends it
    return found
