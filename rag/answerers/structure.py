"""Structure of a passage and intent of a question, for answers shaped like the passage.

A passage is read as paragraphs and lists. A list has a lead-in (the paragraph right before it in
the same section, whose last sentence introduces it: "here are some tactics…", "this is usually
caused by…"; or a sentence ending with ":" and one remark between it and the list), items (a
nested list belongs to its parent item), and a closing paragraph (the
short paragraph right after it that is not itself the lead-in of the next list: often the rule
the list leads to). Each list gets a kind from its lead-in, or from the section heading when it
has none: `cause` lists answer "why", `action` lists answer "how", `other` lists answer either.
Pure functions over strings: deterministic, microseconds per passage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.text import Unit, content_terms, units

CLOSING_WORDS = 40  # a longer paragraph after a list is new material, not the list's rule

_CAUSE = re.compile(
    r"\b(caus\w*|because|reasons?|why|due to|results? (of|from)|stems? from|root|origins?|"
    r"pitfalls?|anti-?patterns?|symptoms?|problems?|challenges?|drawbacks?|risks?|"
    r"mistakes?|failures?|smells?)\b", re.I,
)
_ACTION = re.compile(
    r"\b(tactics?|tips?|steps?|how to|ways?|(best |good )?practices?|recommend\w*|guidelines?|"
    r"should|must|approach\w*|strateg\w+|checklists?|the following|try|consider|process|"
    r"rules?|principles?|ideas?|suggest\w*|actions?|procedures?|instructions?|techniques?|"
    r"to do|dos?|do's|here'?s? (is|are) (some|a few)|to (break|build|improve|avoid|get|make))\b",
    re.I,
)

# Question intents. A question may carry several ("Why …, and how do I …?").
_WHY = re.compile(r"\bwhy\b|\bwhat (makes|causes|leads)\b|\bhow come\b|\b(reasons?|causes?)\b"
                  r"|\bpart of the (cause|problem)\b", re.I)
_HOW = re.compile(
    # "how should risks be managed?", "how can software be made portable?": any subject after
    # a modal; "how do earlier post-mortems affect…?" and "how does X work?" ask for an effect
    # or a mechanism, "how long / much / often" for a quantity: not for steps
    r"\bhow (do|would|might|will) (i|we|you|one|a|an|the|my|our|teams?)\b|"
    r"\bhow (can|could|should|to|may|must)\b|"
    r"\bwhat (should|can|could|do|must) (i|we|you)\b|\bwhere (do|should) (i|we) "
    r"(start|begin)\b|\b(tips|advice|tactics|steps|ways? to|best practices|practices|"
    r"guidelines|recommendations)\b|\bwhat (are|is) (the|some|a few)? ?(best|good|recommended)\b",
    re.I,
)
_SHOULD = re.compile(
    r"(^|[.?!]\s+|,\s*)(should|shall|can|could|may|must|do|does|is|are|would) "
    r"(i|we|you|it|that|this|there|my|our)\b|\bis (it|that|this) (ok|okay|fine|worth|wise|"
    r"a good idea|a bad idea|bad|good|necessary|required)\b", re.I,
)
_WHAT = re.compile(r"^\s*(what|who|which)\b.*\b(is|are|does|do|mean|means|meaning)\b|"
                   r"\b(define|definition|meaning of|what is meant)\b", re.I)
_LIST = re.compile(r"\bwhat are\b|\b(which|what) (kinds|types|sorts|steps)\b|"
                   r"\b(two|three|four|five|several|main) (kinds|types|ways|steps|things)\b|"
                   r"\blist (the|of)\b", re.I)

# A sentence that says where the answer is rather than what it is ("See the transit benefit
# page.", "This page outlines how to sign up…", "Please read more [here](…).", or a line that
# is nothing but a link, "[GSA Telework Policy](https://…)"): it repeats the question's words
# best and answers nothing.
POINTER = re.compile(
    r"^\W*((please )?(see|read more|for more|refer to|learn more|check out|more info)\b|"
    r"this (page|section|document|article|guide|doc) (outlines|describes|explains|covers|"
    r"contains|lists|provides|is about)\b|"
    r"\[[^\]\n]*\]\([^)\n]*\)\W*$)", re.I,
)

SERVES = {"how": ("action", "other"), "why": ("cause", "other"), "list": ("action", "cause",
                                                                        "other")}


def intents(question: str) -> frozenset[str]:
    """What the question asks for: a subset of how, why, list, what, should ('' = other)."""
    found = {name for name, pattern in (("why", _WHY), ("how", _HOW), ("list", _LIST),
                                        ("should", _SHOULD)) if pattern.search(question)}
    if _WHAT.search(question) and not found & {"how", "why", "list"}:
        found.add("what")
    return frozenset(found)


_PARTS = re.compile(r"\?\s+|;\s+|,?\s+and\s+(?=(?:why|how|what|which|who|where|when|is|are|"
                    r"should|do|does|can|could)\b)", re.I)
PART_TERMS = 2  # a part with fewer content words of its own stays with its neighbour


def parts(question: str) -> list[str]:
    """The sub-questions of a multi-part question ("What are X, and is Y…?" -> two)."""
    pieces = [p.strip(" ,") for p in _PARTS.split(question.strip()) if p.strip(" ,?")]
    merged: list[str] = []
    for piece in pieces:
        if merged and (len(content_terms(piece)) < PART_TERMS
                       or len(content_terms(merged[-1])) < PART_TERMS):
            merged[-1] = f"{merged[-1]}, and {piece}"
        else:
            merged.append(piece)
    return merged or [question]


def kind_of(lead: str) -> str:
    """`cause`, `action` or `other` for the text that introduces a list."""
    cause, action = _CAUSE.search(lead), _ACTION.search(lead)
    if cause and not (action and action.start() < cause.start()):
        return "cause"
    return "action" if action else "other"


def conflicts(kind: str, wanted: frozenset[str]) -> bool:
    """True when a list of `kind` answers another intent than the question's."""
    if kind == "cause":  # causes answer "why"; "how do I" and "should I" want the advice
        return bool(wanted & {"how", "should"}) and "why" not in wanted
    if kind == "action":
        return "why" in wanted and "how" not in wanted and "list" not in wanted
    return False


@dataclass(eq=False)  # identity: two lists with equal text are still two lists
class ListBlock:
    """A list of one passage with its lead-in paragraph and closing paragraph (units)."""

    kind: str
    lead: list[Unit] = field(default_factory=list)
    items: list[list[Unit]] = field(default_factory=list)  # each item: its units, nested kept
    closing: list[Unit] = field(default_factory=list)

    def role(self, unit: Unit) -> tuple[str, int]:
        """('lead'|'item'|'closing', item number) of one of this list's units."""
        if unit in self.lead:
            return "lead", -1
        for number, item in enumerate(self.items):
            if unit in item:
                return "item", number
        return "closing", -1


@dataclass
class _Block:
    units: list[Unit]
    item: bool
    indent: int
    start: int
    end: int


def _paragraphs(text: str) -> list[_Block]:
    """Paragraphs and list items (one block each), in order, with the item's marker indent."""
    blocks: dict[int, _Block] = {}
    for unit in units(text):
        block = blocks.get(unit.block)
        if block is None:
            line_start = text.rfind("\n", 0, unit.start) + 1
            line = text[line_start:unit.start]
            indent = len(line) - len(line.lstrip())
            blocks[unit.block] = _Block([unit], unit.list_item, indent, unit.start, unit.end)
        else:
            block.units.append(unit)
            block.end = unit.end
    return list(blocks.values())


def _break_between(text: str, end: int, start: int) -> bool:
    """A heading, rule or code fence between two blocks ends a section."""
    return bool(re.search(r"^\s*(#|```|~~~|(-{3,}|\*{3,}|_{3,})\s*$)", text[end:start], re.M))


def parse(text: str, heading: str = "") -> list[ListBlock]:
    """The lists of a Markdown passage with their lead-in and closing paragraphs."""
    blocks = _paragraphs(text)
    found: list[ListBlock] = []
    i = 0
    while i < len(blocks):
        if not blocks[i].item:
            i += 1
            continue
        first = i
        base = blocks[i].indent
        items: list[list[Unit]] = []
        while i < len(blocks) and (blocks[i].item or _inside(blocks[i], base, items)) and (
            i == first or not _break_between(text, blocks[i - 1].end, blocks[i].start)
        ):
            if items and (blocks[i].indent > base + 1 or not blocks[i].item):
                items[-1].extend(blocks[i].units)  # a nested item or paragraph: its parent's
            else:
                items.append(list(blocks[i].units))
            i += 1
        lead = _lead(text, blocks, first)
        closing = _closing(text, blocks, i)
        kind = kind_of(announcer(lead).text) if lead else "other"
        if kind == "other":
            kind = kind_of(_heading_before(text, blocks[first].start) or heading)
        found.append(ListBlock(kind, lead, items, closing))
    return found


def _inside(block: _Block, base: int, items: list[list[Unit]]) -> bool:
    """True for a paragraph indented under a list item (Markdown's continuation paragraph:
    "- **Make it repeatable:** …" then "    There are many reasons… For example:" and a
    nested list): it belongs to the item instead of ending the list."""
    return bool(items) and not block.item and block.indent > base + 1


def _lead(text: str, blocks: list[_Block], first: int) -> list[Unit]:
    """The paragraph right before the list; with the one before it when that one announces the
    list and the nearer one is a remark in between ("To report a security incident, follow
    _all_ of the steps below:" / "Please note that incidents need to be reported within one
    hour…" / the steps)."""
    before = blocks[first - 1] if first else None
    if before is None or before.item or _break_between(text, before.end, blocks[first].start):
        return []
    if first >= 2 and not opens_list(before.units[-1].text):
        announcing = blocks[first - 2]
        if not announcing.item and opens_list(announcing.units[-1].text) and \
                not _break_between(text, announcing.end, before.start):
            return [*announcing.units, *before.units]
    return before.units


def opens_list(text: str) -> bool:
    """True for a sentence ending with ":" (what follows is what it introduces)."""
    return text.rstrip().endswith(":")


# a sentence announcing a list: "…:", "…the following paperwork…", "…as laid out below."
ANNOUNCING = re.compile(r":$|\b(below|following)\b", re.I)


def announcer(lead: list[Unit]) -> Unit:
    """The lead-in sentence that says what the list holds: the last one ending with ":"."""
    return next((u for u in reversed(lead) if opens_list(u.text)), lead[-1])


def _closing(text: str, blocks: list[_Block], after: int) -> list[Unit]:
    if after >= len(blocks) or blocks[after].item:
        return []
    block = blocks[after]
    if _break_between(text, blocks[after - 1].end, block.start):
        return []
    if opens_list(block.units[-1].text):  # the lead-in of the next list
        return []
    if after + 1 < len(blocks) and blocks[after + 1].item and not _break_between(
        text, block.end, blocks[after + 1].start
    ):
        return []
    if sum(len(u.text.split()) for u in block.units) > CLOSING_WORDS:
        return []
    return block.units


def _heading_before(text: str, position: int) -> str:
    """The last Markdown heading line before `position` in the passage ('' if none)."""
    headings = re.findall(r"^\s*#+\s*(.+)$", text[:position], re.M)
    return headings[-1] if headings else ""


_LABEL = re.compile(r"^\W*(?:\*\*|__)(?P<bold>.+?)(?:\*\*|__)|^\W*\[(?P<link>[^\]]+)\]\(|"
                    r"^\W*(?P<colon>[^:.!?]{2,60}?):\s")
LABEL_WORDS = 6  # a longer lead phrase is a sentence, not an item's name


def label_of(text: str) -> str:
    """An item's name: its bold lead ("**Trust-based**: …"), link text ("[Sprint planning](…)")
    or the words before its colon ("Load Balancing: …"); '' when it has none."""
    match = _LABEL.match(text)
    if match is None:
        return ""
    label = next(g for g in match.groups() if g is not None).strip(" :*_")
    return label if 0 < len(label.split()) <= LABEL_WORDS else ""


def more_text(more: int, hidden: list[str]) -> str:
    """The words of a line standing for `more` hidden items (`hidden`: their texts, in reading
    order): "… N more: A; B; C" when every one has a name (the names say what the items are
    about in a few words), else "… N more items"."""
    names = [label_of(text) for text in hidden]
    if names and len(names) == more and all(names):
        return f"… {more} more: {'; '.join(names)}"
    return f"… {more} more item{'s' if more > 1 else ''}"
