"""The shape of an extractive answer: a whole list, one item, or the best sentences.

Given scored candidates (rag/answerers/extractive.py) and the passages' structure
(rag/answerers/structure.py):
- items of a list that answers another intent than the question's are never used
  ("how do I…?" gets no causes, "why…?" gets no tactics);
- when the best unit belongs to a list that serves a how / why / list question, the answer is that
  whole list: its lead-in when it helps, each item's first sentence in order (plus any later
  sentence of an item that is itself the best unit), its closing rule, and a
  "N more" line for long lists; a question with two intents ("why…, and how…?") gets both lists;
- a what / should-I question whose best unit is a list item gets that whole item (the advice and
  its caveat);
- otherwise the best sentences, as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rag.answerers.structure import (
    ANNOUNCING,
    POINTER,
    SERVES,
    ListBlock,
    announcer,
    conflicts,
    intents,
    kind_of,
    more_text,
    parse,
)
from rag.retrieve import Passage
from rag.text import content_terms

MAX_ITEMS = 6  # a longer list shows its first items and says how many more there are
ITEM_SENTENCES = 3  # an item answered on its own: its first sentences
MARGIN = 0.15  # same role as extractive.MARGIN: "scores with the best"
CONTINUATION_MARGIN = 0.03  # a later sentence of an item is shown when it is (nearly) the best
CONTINUATION_LIFT = 0.1  # … and clearly more relevant than its item's first sentence
SECOND_LIST_MARGIN = 0.3  # a two-intent question's second list must score this close
DOMINANCE = 0.15  # an item this far ahead of every other item is answered on its own
LIST_MARGIN = 0.15  # a list item this close to a better paragraph sentence anchors a list answer
# ... and only a list of a passage whose cosine is at least this share of the best passage's: a
# steps list of an unrelated page that repeats two of the question's words ("first day") must
# not take over a how question. Dev-neutral from 0.5 to 0.8 (no dev answer changes at 0.5; 1.0
# loses two dev key points), chosen from the 18f-dev question 18f-240.
LIST_PASSAGE_SHARE = 0.5
EXTRA_SENTENCES = 2  # paragraph sentences outside the list that score with the best
PARAGRAPH_SENTENCES = 3  # the best sentence's paragraph is quoted up to this many sentences


@dataclass
class Line:
    """One line of the answer: a bullet (list item) or a paragraph, made of candidates."""

    parts: list  # list[Candidate], in reading order
    bullet: bool = False
    more: int = 0  # "… N more items" line (parts[0] gives the passage to cite)
    hidden: list = field(default_factory=list)  # the more line's items (their names are shown)

    def more_words(self) -> str:
        """A more line's text without its citation (see structure.more_text)."""
        hidden = sorted(self.hidden, key=lambda c: (c.index, c.unit.start))
        return more_text(self.more, [c.unit.text for c in hidden])



Key = tuple[int, int]  # (passage index, unit start)


def _key(cand) -> Key:  # noqa: ANN001
    return cand.index, cand.unit.start


def shape(  # noqa: ANN001
    question: str, passages: Sequence[Passage], scored: list, select,
    wanted: frozenset[str] | None = None,
) -> list[Line]:
    """The answer's lines for scored candidates; `select(cands)` picks the best sentences.

    `wanted` = the question's intents (default: read from the question).
    """
    if not scored:
        return []
    wanted = intents(question) if wanted is None else wanted
    owners = owners_of(passages)
    allowed = [c for c in scored
               if (o := owners.get(_key(c))) is None or not conflicts(o.kind, wanted)]
    if not allowed:
        allowed = scored
    # "See the X page." / "This page outlines…" says where the answer is, not what it is
    allowed = [c for c in allowed if not POINTER.match(c.unit.text)] or allowed
    by_key = {_key(c): c for c in allowed}
    best = max(allowed, key=lambda c: (c.score, -c.index, -c.unit.start))
    listy = wanted & set(SERVES)
    top = best.score
    best = _list_anchor(best, allowed, owners, listy, passages)
    if not wanted:  # no intent read: an announcing sentence near the best brings its list
        best = _announcing_anchor(best, allowed, owners)
    owner = owners.get(_key(best))
    if owner is not None and not listy and _announces(owner, best):
        listy = frozenset({"list"})  # "… as laid out below:" is answered by what it announces
    if owner is not None and listy and any(owner.kind in SERVES[w] for w in listy):
        if len(listy - {"list"}) <= 1 and _dominant(owner, best, by_key):  # about one item
            return _with_extras(_item_lines(owner, best, by_key, question), allowed, owners,
                                top)
        lines = _list_lines(owner, best, by_key, question)
        lines += _other_lists(owner, best, listy, allowed, owners, by_key, question, passages)
        return _with_extras(lines, allowed, owners, top)
    if owner is not None and owner.role(best.unit)[0] == "item" and not listy \
            and wanted & {"what", "should"}:
        return _with_extras(_item_lines(owner, best, by_key, question), allowed, owners,
                            best.score)
    return _sentence_lines(select(allowed), best, allowed)


def _list_anchor(  # noqa: ANN202
    best, allowed: list, owners: dict, listy: frozenset[str],  # noqa: ANN001
    passages: Sequence[Passage],
):
    """The unit to shape the answer around: for a how / why / list question whose best unit is
    a paragraph sentence, the best item of a list of the asked kind when it scores with the best
    ("What are the steps for planning a load test?" is answered by the planning steps, not by
    the sentence saying why load tests matter, which still comes as an extra sentence). The
    list's passage must be about as relevant as the best one (LIST_PASSAGE_SHARE)."""
    owner = owners.get(_key(best))
    if not listy or (owner is not None and any(owner.kind in SERVES[w] for w in listy)):
        return best
    floor = LIST_PASSAGE_SHARE * max(p.score for p in passages)
    pool = [c for c in allowed if (o := owners.get(_key(c))) is not None
            and o.role(c.unit)[0] == "item" and any(o.kind in SERVES[w] for w in listy)
            and c.score >= best.score - LIST_MARGIN and passages[c.index].score >= floor]
    return max(pool, key=lambda c: (c.score, -c.index, -c.unit.start), default=best)


def _announcing_anchor(best, allowed: list, owners: dict):  # noqa: ANN001, ANN202
    """The best sentence announcing a list ("you will need to submit the following paperwork…")
    that scores with the best unit, else the best unit: "What paperwork do I send…?" is
    answered by the announced paperwork even when an item elsewhere repeats the word."""
    owner = owners.get(_key(best))
    if owner is not None and _announces(owner, best):
        return best
    pool = [c for c in allowed if (o := owners.get(_key(c))) is not None and o.items
            and _announces(o, c) and c.score >= best.score - MARGIN]
    return max(pool, key=lambda c: (c.score, -c.index, -c.unit.start), default=best)


def _sentence_lines(chosen: list, best, allowed: list) -> list[Line]:  # noqa: ANN001
    """The selected sentences, the best one followed by the rest of its paragraph (a definition
    or explanation goes on after its first sentence)."""
    if not best.unit.list_item and not best.continuation:
        same = sorted((c for c in allowed if c.index == best.index
                       and c.unit.block == best.unit.block and c.unit.start > best.unit.start),
                      key=lambda c: c.unit.start)[: PARAGRAPH_SENTENCES - 1]
        have = {_key(c) for c in chosen}
        chosen = sorted([*chosen, *(c for c in same if _key(c) not in have)],
                        key=lambda c: (c.index, c.unit.start))
    return [Line([c], bullet=c.unit.list_item) for c in chosen]


def owners_of(passages: Sequence[Passage]) -> dict[Key, ListBlock]:
    """Which list (lead-in, item or closing) each unit of the passages belongs to."""
    owners: dict[Key, ListBlock] = {}
    for i, passage in enumerate(passages):
        for block in parse(passage.text, passage.first.heading):
            for unit in [*block.lead, *(u for item in block.items for u in item), *block.closing]:
                owners.setdefault((i, unit.start), block)
    return owners


def _helps(cand, best_score: float, question: str) -> bool:  # noqa: ANN001
    """A lead-in sentence is shown when it scores with the best or shares the question's words."""
    if cand.score >= best_score - MARGIN:
        return True
    return len(cand.unit.text.split()) >= 4 and bool(
        content_terms(cand.unit.text) & content_terms(question)
    )


def _list_lines(block: ListBlock, best, by_key: dict, question: str) -> list[Line]:  # noqa: ANN001
    index = best.index
    top = best.score
    lines: list[Line] = []
    lead = [by_key[k] for u in block.lead if (k := (index, u.start)) in by_key]
    lead = [c for c in lead if _helps(c, top, question)]
    if lead:
        lines.append(Line(lead))
    shown = 0
    hidden: list = []
    for item in block.items:
        cands = [by_key[k] for u in item if (k := (index, u.start)) in by_key]
        if not cands:
            continue
        head, rest = cands[0], cands[1:]
        strong = [c for c in rest if c.score >= top - CONTINUATION_MARGIN
                  and c.score >= head.score + CONTINUATION_LIFT]
        if shown >= MAX_ITEMS and head.score < top - MARGIN and not strong:
            hidden.append(head)
            continue
        lines.append(Line([head, *strong], bullet=True))
        shown += 1
    if hidden:
        lines.append(Line([lines[-1].parts[0]], bullet=True, more=len(hidden), hidden=hidden))
    closing = [by_key[k] for u in block.closing if (k := (index, u.start)) in by_key]
    if closing:  # short by construction: the rule or remark the list leads to
        lines.append(Line(closing))
    return lines


def _other_lists(
    owner: ListBlock, best, listy: frozenset[str], allowed: list, owners: dict,  # noqa: ANN001
    by_key: dict, question: str, passages: Sequence[Passage],
) -> list[Line]:
    """Lines of the lists of the other kinds the question asks for. A two-intent question
    ("why…, and how…?") takes the other list from any article; a one-intent question only from
    the same article (its checklist after its list of tools), never another article's list as
    padding."""
    lines: list[Line] = []
    used = {owner}
    article = None if len(listy - {"list"}) > 1 else passages[best.index].first.article_id
    for intent in sorted(listy - {"list"}):
        if owner.kind == SERVES[intent][0]:
            continue
        second = _second_list(intent, allowed, owners, used, best.score,
                              [p.first.article_id for p in passages], article)
        if second is not None:
            used.add(owners[_key(second)])
            lines += _list_lines(owners[_key(second)], second, by_key, question)
    return lines


def _second_list(  # noqa: ANN202
    intent: str, allowed: list, owners: dict, used: set, top: float,
    articles: list[str], article: str | None,
):
    """The best candidate of another list of exactly the kind `intent` asks for (of `article`
    only, when one is given; `articles` = the article id of each passage)."""
    kind = SERVES[intent][0]
    pool = [c for c in allowed if (o := owners.get(_key(c))) is not None and o not in used
            and o.kind == kind and c.score >= top - SECOND_LIST_MARGIN
            and article in (None, articles[c.index])]
    return max(pool, key=lambda c: c.score, default=None)


def _with_extras(lines: list[Line], allowed: list, owners: dict, top: float) -> list[Line]:
    """Paragraph sentences outside every list that score with the best, in reading order."""
    have = {_key(c) for line in lines for c in line.parts}
    extras = [c for c in sorted(allowed, key=lambda c: -c.score)
              if _key(c) not in have and _key(c) not in owners and c.score >= top - MARGIN]
    extras = extras[:EXTRA_SENTENCES]
    if not extras:
        return lines
    first = min(_key(line.parts[0]) for line in lines)
    before = [Line([c]) for c in sorted(extras, key=_key) if _key(c) < first]
    after = [Line([c]) for c in sorted(extras, key=_key) if _key(c) >= first]
    return before + lines + after


def _announces(block: ListBlock, best) -> bool:  # noqa: ANN001
    """True when the best unit belongs to the paragraph introducing the list and that paragraph
    announces it ("…:", "…the following paperwork…", "…as laid out below."), even when a remark
    follows the announcing sentence ("Note: …")."""
    if best.unit not in block.lead:
        return False
    # "…there are some general principles that might be helpful." names what the list holds
    return any(ANNOUNCING.search(u.text.rstrip()) for u in block.lead) or \
        kind_of(announcer(block.lead).text) != "other"


def _dominant(block: ListBlock, best, by_key: dict) -> bool:  # noqa: ANN001
    """True when the best unit is an item's and that item clearly beats every other item."""
    role, number = block.role(best.unit)
    if role != "item":
        return False
    # a lead-in scoring with the best says the question is about the whole list ("Implementing
    # availability involves various strategies…" for "How can a system be designed for high
    # availability?"), however well one item repeats the question's words
    lead = [by_key[k].score for u in block.lead if (k := (best.index, u.start)) in by_key]
    if lead and max(lead) >= best.score - MARGIN:
        return False
    others = [by_key[k].score for n, item in enumerate(block.items) if n != number
              for u in item if (k := (best.index, u.start)) in by_key]
    return not others or best.score - max(others) >= DOMINANCE


def _item_lines(block: ListBlock, best, by_key: dict, question: str) -> list[Line]:  # noqa: ANN001
    """One item answered on its own: its first sentences, after its lead-in when that helps."""
    number = block.role(best.unit)[1]
    cands = [by_key[k] for u in block.items[number] if (k := (best.index, u.start)) in by_key]
    lead = [by_key[k] for u in block.lead[-1:] if (k := (best.index, u.start)) in by_key]
    lines = [Line([c]) for c in lead if _helps(c, best.score, question) and c is not best]
    # an item with a nested list ("Failover and Redundancy:" then hot, cold and warm sites)
    # is answered by its own first sentences and the first sentence of each nested item
    first = next((n for n, c in enumerate(cands) if n and c.unit.list_item), len(cands))
    own, nested = cands[:first], [c for c in cands[first:] if c.unit.list_item][:MAX_ITEMS]
    lines.append(Line(own[:ITEM_SENTENCES]))
    lines += [Line([c], bullet=True) for c in nested]
    shown = {_key(c) for line in lines for c in line.parts}
    if _key(best) not in shown:  # a later sentence of a nested item, the best unit itself
        lines.append(Line([best], bullet=best.unit.list_item))
    return lines

