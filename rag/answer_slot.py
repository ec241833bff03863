"""Does a retrieved sentence hold the asked-for fact? Two answer-level answerability features.

The passage-level features of rag/answerability.py say whether the passages are *about* the
question. A near miss is about it too ("What is the lodging per diem rate in Denver?" retrieves
the per diem page; "What percentage does the agency match in the Thrift Savings Plan?" retrieves
the benefits page) but holds no sentence that answers it. Two features look at that:

- `answer_type`: 0.0 when the question's wording asks for a quantity ("how many", "what
  percentage", "what is the ... rate"), a date ("when is", "what day") or a person ("who") and
  no sentence or list item of the top passages holds one (a number, a weekday, a capitalised
  name, an address) with one of the question's RARE_TERMS rarest terms in it or in the
  TYPED_WINDOW units around it in the same passage ("* Default: 20" two items above "Number
  of items to limit search results to."); 1.0 otherwise, also for every question that asks
  for nothing typed. Headings do not count: a heading that names the topic above a sentence
  with some unrelated number is not an answer (measured: counting headings lost the Thrift
  Savings Plan case). The asking words ("how *many*") are not terms of the question.
  The rarest terms are taken from the whole question and from each of its `ask_parts` (a
  scenario's preamble holds rare words the answer never uses). When the question names what
  it counts ("how many story *points*", "the maximum hotel *rate*": `focus`), a sentence must
  also hold that head noun together with something of the asked kind: the near miss's page
  says "does this story fit in one sprint?", never a number of points. A person is a name, an
  address, a handle, or a generic role noun after a determiner ("your supervisor approves").
  A price question ("how much does X cost", "what is the fee") wants money ($, dollars,
  "free"), not any number; a counted "time" ("how much vacation *time*") is answered in a
  unit of time (hours, days), so that head noun is met by one.
  Known flaw kept on purpose: "may" counts as the month (case-insensitive), so a policy
  sentence with the modal verb "holds a date"; matching "May" only when capitalised dropped
  dev off-topic refusal from 81 % to 65 % (cwe) at the same false-refusal cap, because two
  answerable questions lost the feature (README "Refusal").
- `names`: 1 minus the highest normalised IDF of a name the question uses (a capitalised
  word inside the sentence, an acronym, a word with a digit or an inner capital: "Denver",
  "Expensify", "FEGLI", "p99") that is missing from the top passages; 1.0 when all are found
  or there are none. Normalised as `rare_coverage` is, so it reads the same on a 3-chunk
  playbook and a 10k-chunk handbook, and an agency's own acronym that the passages happen not
  to repeat costs little. A paraphrase can replace an everyday word the corpus does not use;
  it cannot replace a name.

Both are written for English questions; what the patterns miss counts as "asks for nothing
typed" / "uses no names", which leaves the other features to decide.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rag.retrieve import Passage

# The words that ask for a quantity; they are the question's wording, not its topic (`_HOW`).
_HOW_WORDS = r"how (many|much|long|often|old|far|soon)"
# What a question asks for, by its wording. Order matters: the first kind that matches wins.
# Not "how big / how large": "How big should a pull request be?" is answered by "small".
_ASKS = (
    # A price asks for money, not any number: "How much does a Mural license cost?" is not
    # answered by "Mural boards are archived after 90 days".
    ("money", re.compile(
        r"\bhow much (do|does|did|will|would|is|are) [^?]{0,40}\b(cost|charge|pay|earn|make)\b|"
        r"(what|which)(?: is| are|'s)?(?: the| my| our| a| an)?(?: [\w-]+){0,3} "
        r"(price|cost|fee|salary|wage)s?\b", re.I)),
    ("quantity", re.compile(
        rf"\b({_HOW_WORDS}|by how much|"
        r"(what|which)(?: is| are|'s)?(?: the| my| our| a| an)?(?: [\w-]+){0,3} "
        r"(percentage|percent|rate|amount|number|salary|price|cost|fee|limit|cap|deadline|"
        r"date|duration|budget|size|threshold|target|latency|timeout|version)s?\b|"
        r"by what (percentage|percent|amount|factor)|(maximum|minimum|average) (number|amount))",
        re.I)),
    # "When is/does X" asks for a time; "when should we X" asks for a condition.
    ("date", re.compile(r"^\W*when (is|are|does|do|did|will|was|were)\b|"
                        r"\bwhat (day|date|time|year|month)\b|\bwhich (day|date)\b", re.I)),
    ("person", re.compile(r"^\W*who\b|\bwhich (person|team|office|group)\b", re.I)),
)
_NUMBER_WORDS = (r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|"
                 r"twenty|thirty|forty|fifty|hundred|thousand|million|half|quarter|once|twice|"
                 r"double|dozen")
_CALENDAR = (r"january|february|march|april|may|june|july|august|september|october|november|"
             r"december|monday|tuesday|wednesday|thursday|friday|saturday|sunday|daily|weekly|"
             r"monthly|annually|yearly|quarterly|biweekly|noon|midnight")
# Generic English role nouns (no corpus's own titles): a "who" question is answered by a role
# as often as by a name ("Who approves overtime?" -> "You will need supervisor approval").
# Only after a determiner, so "lead" the verb and "team" the adjective are not counted.
_ROLES = (r"supervisor|manager|lead|owner|team|facilitator|reviewer|approver|administrator|"
          r"admin|coordinator|director|officer|specialist|staff|chair|sponsor|maintainer|"
          r"author|assignee|representative|contact|department|office|division|committee")
_HOLDS = {
    "money": re.compile(r"\$|€|£|\b(USD|dollars?|cents?|free|no cost|no charge)\b", re.I),
    "quantity": re.compile(rf"\d|%|\$|€|£|\b({_NUMBER_WORDS}|{_CALENDAR})\b", re.I),
    "date": re.compile(rf"\d|\b({_CALENDAR}|{_NUMBER_WORDS})\b", re.I),
    # A name after the first word, an e-mail address, a chat handle / channel, or a role
    # after a determiner ("your supervisor approves", "the facilitator selects").
    "person": re.compile(r"(?<=\w )[A-Z][\w-]+|\S+@\S+\.\w+|(?<!\w)[@#][\w-]+|"
                         rf"(?i:\b(the|your|their|our|a|an|each|every|his|her)( \w+)? "
                         rf"({_ROLES})s?\b)"),
}
_NAME = re.compile(r"\b(?:\w*\d\w*|[A-Z]{2,}\w*|\w+[a-z][A-Z]\w*)\b|(?<=[\w,;:] )[A-Z][\w'’-]*")
# Capitalised words that name nothing: the pronoun, "OK", and calendar words (a weekday or a
# month is a time, not a thing the corpus must mention).
# The question's RARE_TERMS rarest terms, MATCHED of which an answer sentence must hold. Chosen
# on dev (playbook + cwe-dev + 18f-dev, model refitted each time) among 1/1, 2/1, 3/1, 3/2 and
# 4/2: 2/1 refused the most dev near misses (cwe 81 %, 18f 61 %) at the same false-refusal cap;
# 3/1 let numbers next to a common question word through, x/2 refused answerable questions.
RARE_TERMS = 2
MATCHED = 1
# A typed answer may sit up to TYPED_WINDOW sentences or list items away from the words it
# answers, within one passage: reference docs state a default as a list item under the option
# and describe the option after it ("* Default: 20" / "* Type: Number" / "Number of items to
# limit search *results* to."). Chosen on dev (2026-12-02, npm-docs added as a dev corpus):
# 0 and 1 left npm-dev's default-value questions refused, 2 and 3 gave identical rows, and 2
# changed no playbook / cwe-dev / 18f-dev decision of the frozen model (BENCHMARKS.md).
TYPED_WINDOW = 2
# The asking words of a typed question are not its topic: "how *many* results" ("many" is rare
# in docs that never ask) must not be one of the rarest terms an answer has to hold.
_HOW = re.compile(rf"\b{_HOW_WORDS}\b", re.I)
_NOT_NAMES = re.compile(rf"^(I|I['’](m|ve|d|ll)|OK|{_CALENDAR})$", re.I)


# A clause that asks: it opens with a question word or an auxiliary verb.
_ASKING = re.compile(r"^(how|what|when|where|who|whom|which|why|can|could|do|does|did|is|are|"
                     r"should|must|may|will|would|have|has)\b", re.I)
ASK_WORDS = 3  # a shorter asking part ("Where do I start?") says too little on its own


def ask_parts(question: str) -> list[str]:
    """The question's asking parts besides the whole: each sentence of a question of several
    sentences that ends in "?" (or the last sentence), and the last clause after a comma when it
    asks ("I just had a baby, *how much time off do I get?*"); parts under ASK_WORDS words are
    dropped. Empty for a plain one-clause question."""
    parts = [p.strip() for p in re.split(r"(?<=[.?!;])\s+", question.strip()) if p.strip()]
    found = [p for p in parts if p.endswith("?")] if len(parts) > 1 else []
    if len(parts) > 1:
        found.append(parts[-1])
    clauses = re.split(r",\s+|\s+-+\s+|:\s+", parts[-1]) if parts else []
    if len(clauses) > 1 and _ASKING.match(clauses[-1]):
        found.append(clauses[-1].strip())
    unique = dict.fromkeys(f for f in found if len(f.split()) >= ASK_WORDS and f != question)
    return list(unique)


def asks_for(question: str) -> str | None:
    """'money', 'quantity', 'date' or 'person' when the question's wording asks for one, else
    None."""
    for kind, pattern in _ASKS:
        if pattern.search(question):
            return kind
    return None


# The thing a typed question counts or names: the noun phrase after "how many / how much",
# "what is the [maximum] ..." or "who is the ...", up to four words that are not a verb,
# preposition, pronoun or article (the _FOCUS_STOP words); its last word is the head noun
# ("how many *story points*", "the maximum *hotel rate*", "who is the *building manager*").
_FOCUS_STOP = (r"should|can|could|do|does|did|is|are|was|were|will|would|may|might|must|have|"
               r"has|of|in|on|for|per|to|at|by|from|with|about|i|we|you|they|he|she|it|my|our|"
               r"your|their|the|a|an")
_FOCUS = re.compile(r"\b(?:how (?:many|much) |what (?:is|are) (?:the|my|our) "
                    r"(?:maximum |minimum |average )?|who (?:is|are) (?:the|my|our) )"
                    rf"((?:(?!(?:{_FOCUS_STOP})\b)[\w'-]+ ?){{1,4}})", re.I)


# A counted "time" is answered in a unit of time ("4 hours per pay period"), not by the word.
_DURATION_HEADS = {"time"}  # its stem under every BM25 stemmer too
_DURATION_UNITS = "minute minutes hour hours day days week weeks month months year years"


def focus(question: str) -> str | None:
    """The head noun of what a typed question counts or names (see _FOCUS), or None."""
    match = _FOCUS.search(question)
    words = match.group(1).split() if match else []
    return words[-1] if words else None


def holds(sentence: str, kind: str | None) -> bool:
    """True when the sentence holds something of the kind (always True for kind None)."""
    return kind is None or bool(_HOLDS[kind].search(sentence))


def question_names(question: str) -> list[str]:
    """The names the question uses (see the module docstring), in order, without pronouns and
    without a possessive "'s" (its "s" would be a name term no passage holds on its own)."""
    found = (_POSSESSIVE.sub("", m.group(0)) for m in _NAME.finditer(question))
    return [name for name in found if name and not _NOT_NAMES.match(name)]


_POSSESSIVE = re.compile(r"(?<=\w)['’]s\b")


def answer_type(question: str, passages: Sequence[Passage], bm25: Any) -> float:
    """0.0 when the question asks for a quantity, a date or a person and no sentence of the
    passages holds one with MATCHED of the RARE_TERMS rarest terms of the question or
    of one of its `ask_parts` in it or within TYPED_WINDOW units of it in its passage (a
    scenario's rarest words are often in its preamble: "My mom is
    having *surgery*. How many days of sick leave can go to caring for family?"), or when the
    question has a `focus` and no such sentence holds its head noun ("How many *points*
    should a story be?" is not answered by "a story fits in one sprint"); 1.0 otherwise, also
    for a question asking for none."""
    from rag.index.bm25 import tokenize
    from rag.text import link_text, units

    kind = asks_for(question)
    if kind is None:
        return 1.0
    # The sentences holding something of the asked kind, as the terms of them and of their
    # neighbours (tokenised once: the focus check and every asking part look at the same
    # sentences). Link targets are not read: a URL's digits are no quantity, its host no term
    # of the sentence.
    typed: list[set[str]] = []
    for passage in passages:
        shown = [link_text(unit.text) for unit in units(passage.text)]
        hits = [i for i, text in enumerate(shown) if holds(text, kind)]
        if hits:  # each unit tokenised once, its terms shared by the windows it is in
            unit_terms = [set(tokenize(text, bm25.stemmer)) for text in shown]
            typed.extend(set().union(*unit_terms[max(0, i - TYPED_WINDOW): i + TYPED_WINDOW + 1])
                         for i in hits)
    head = set(tokenize(focus(question) or "", bm25.stemmer))
    if head & _DURATION_HEADS:  # "how much vacation *time*" is counted in hours or days
        head |= set(tokenize(_DURATION_UNITS, bm25.stemmer))
    if head and not any(head & terms for terms in typed):
        return 0.0  # no sentence holds a number of the counted thing / the named role
    for asked in (question, *ask_parts(question)):
        terms = set(tokenize(_HOW.sub(" ", asked), bm25.stemmer))
        wanted = set(sorted(terms, key=lambda t: (-bm25.idf(t), t))[:RARE_TERMS])
        need = min(MATCHED, len(wanted))
        if any(len(wanted & found) >= need for found in typed):
            return 1.0
    return 0.0


def names(question: str, texts: Sequence[str], bm25: Any) -> float:
    """1 - the highest normalised idf of a term of a question name missing from `texts` (1.0
    when every name is found or the question uses none). Normalised as `rare_coverage` is: a
    name the index never uses scores 0 on any index size; one missing from these passages but
    common in the corpus (an agency's own acronym) costs little."""
    from rag.index.bm25 import document_terms, tokenize

    wanted = {t for n in question_names(question) for t in tokenize(n, bm25.stemmer)}
    seen = {t for text in texts for t in document_terms(text, bm25.stemmer)}
    return _absence_score([bm25.idf(t) for t in wanted - seen], bm25)


def names_together(question: str, passages: Sequence[Passage], bm25: Any) -> float:
    """`names`, with a name found only where one sentence or list item of the passages holds
    it together with one of the question's RARE_TERMS rarest other terms: "*Apple's* policy on
    working from home" is not answered by a remote-work page that names an Apple laptop in
    another paragraph, "*Google's* paid parental leave" not by a leave page that links a Google
    form. Normalised as `names` (a name common in the corpus costs little), except an owner: a
    name the question uses in the possessive ("Google's", "18F's") is what it asks about, so
    when it is not found it costs what a name the corpus never uses does, however often the
    corpus mentions it elsewhere (Google Docs on every other 18F page); an owner may also be
    found in a passage's title or heading path together with a rare term ("What are the key
    dates in *18F's* history?": "History and values of 18F"). RARE_TERMS is answer_type's, not
    tuned again: 1, 2 and 3 gave dev AUC 0.749 / 0.749 / 0.738 (cwe) and 0.714 / 0.725 / 0.696
    (18f); any other term at all 0.699 / 0.711."""
    from rag.index.bm25 import document_terms, tokenize
    from rag.text import units

    spans = [set(document_terms(u.text, bm25.stemmer)) for p in passages for u in units(p.text)]
    heads = [set(document_terms(" ".join((p.first.title, *p.first.heading_path)), bm25.stemmer))
             for p in passages]
    asked = set(tokenize(_POSSESSIVE.sub("", question), bm25.stemmer))  # no "s" of "Apple's"
    never_seen = bm25.unseen_idf()
    missing: list[float] = []
    for name in question_names(question):
        owner = _owner(name, question)
        terms = set(tokenize(name, bm25.stemmer))
        others = set(sorted(asked - terms, key=lambda t: (-bm25.idf(t), t))[:RARE_TERMS])
        where = [*spans, *heads] if owner else spans
        if terms and not any(terms <= found and (not others or others & found)
                             for found in where):
            missing.extend(never_seen if owner else bm25.idf(t) for t in terms)
    return _absence_score(missing, bm25)


def _owner(name: str, question: str) -> bool:
    """True when the question uses the name in the possessive ("Google's", not the "W's" of a
    letter)."""
    return len(name) > 1 and re.search(rf"\b{re.escape(name)}['’]s\b", question) is not None


def _absence_score(missing: list[float], bm25: Any) -> float:
    """1 - the highest idf of the `missing` name terms / the idf of a term no document has
    (1.0 when none is missing): reads the same on any index size."""
    if not missing:
        return 1.0
    return 1.0 - min(max(missing) / bm25.unseen_idf(), 1.0)
