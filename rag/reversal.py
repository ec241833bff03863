"""Reversal checks of a claim against the passage sentence it restates: no model, pure functions.

A reversal keeps almost every word and turns the claim into its opposite:

- a negation present on one side only ("do not assume positive intent");
- an antonym swapped in ("less" for "more", "after" for "before", "open" for "closed"), from
  the general list and the negative prefixes of rag/antonyms.py ("likely" / "unlikely");
- the two sides of "more X than Y" / "X rather than Y" / "instead of Y, X" exchanged, or of
  "X before Y" / "Y after X" (the order of two steps).

`reversal` returns the first that applies ("negation", "antonym", "comparison": an exchanged
comparison or order) or None. Word-
level edits of a copied sentence (a negation dropped inside it, two words exchanged) are read by
`rag.alignment`.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rag.antonyms import GENERAL, prefixed_opposites
from rag.claims import root, terms
from rag.text import STOPWORDS, words

NEGATIONS = frozenset(
    """not no never none nothing nobody neither nor without cannot can't don't doesn't didn't
    won't isn't aren't wasn't weren't shouldn't mustn't wouldn't couldn't hasn't haven't hadn't
    lack lacks lacking fail fails failing avoid avoids avoiding rarely seldom hardly
    unless""".split()
)
# Words whose swap reverses a claim. Compared on stems, so "increases"/"increasing" count too.
_LISTED: tuple[tuple[str, str], ...] = (
    ("more", "less"), ("more", "fewer"), ("most", "least"), ("increase", "decrease"),
    ("increase", "reduce"), ("raise", "lower"), ("before", "after"), ("always", "never"),
    ("always", "rarely"), ("often", "rarely"), ("often", "seldom"), ("usually", "rarely"),
    ("usually", "seldom"), ("usually", "never"), ("should", "shouldn't"),
    ("must", "mustn't"), ("allow", "forbid"), ("allow", "prevent"), ("allow", "prohibit"),
    ("encourage", "discourage"), ("enable", "disable"), ("include", "exclude"),
    ("accept", "reject"), ("agree", "disagree"), ("start", "stop"), ("start", "finish"),
    ("early", "late"), ("first", "last"), ("high", "low"), ("higher", "lower"),
    ("large", "small"), ("big", "small"), ("larger", "smaller"), ("fast", "slow"),
    ("faster", "slower"), ("easy", "hard"), ("easier", "harder"), ("easy", "difficult"),
    ("strong", "weak"), ("good", "bad"), ("better", "worse"), ("best", "worst"),
    ("positive", "negative"), ("open", "closed"), ("public", "private"),
    ("internal", "external"), ("manual", "automated"), ("required", "optional"),
    ("mandatory", "optional"), ("minimum", "maximum"), ("above", "below"), ("likely", "unlikely"),
    ("trust", "distrust"), ("proud", "embarrassed"), ("asking", "giving"), ("ask", "give"),
    ("add", "remove"), ("gain", "lose"), ("win", "lose"), ("success", "failure"),
    ("safe", "unsafe"), ("secure", "insecure"), ("simple", "complex"), ("long", "short"),
    ("new", "old"), ("true", "false"), ("same", "different"), ("together", "apart"),
    ("inside", "outside"), ("help", "hurt"), ("build", "break"),
    ("hesitant", "eager"), ("closed", "transparent"), ("blameless", "blameful"),
    ("focus", "skip"), ("focus", "ignore"), ("acknowledge", "ignore"), ("consider", "ignore"),
    ("immediately", "eventually"), ("immediately", "later"), ("now", "later"),
    ("embarrassed", "proud"), ("hesitant", "proud"), ("minimize", "maximize"),
    ("require", "forbid"), ("encouraged", "discouraged"), ("recommended", "discouraged"),
    ("prefer", "avoid"), ("keep", "delete"), ("keep", "discard"), ("approve", "reject"),
    ("sensitive", "non-sensitive"), ("sync", "async"), ("synchronous", "asynchronous"),
)
# Every pair: the hand-listed ones above and the general list of rag/antonyms.py.
ANTONYMS: tuple[tuple[str, str], ...] = (*_LISTED, *GENERAL)
_COMPARATOR = re.compile(
    r"\b(?:rather than|instead of|more than|less than|than|over|above|in place of)\b", re.I)
# "X before Y" and "Y after X" state one order: both read as (earlier, later).
_EARLIER = re.compile(r"\b(?:before|prior to|ahead of)\b", re.I)
_LATER = re.compile(r"\bafter\b", re.I)
_ORDER_WORDS = frozenset({"before", "after"})
_HYPHENED = re.compile(r"[a-z]+(?:-[a-z]+)?")

_NOT_NEGATIONS = re.compile(r"\b(?:no|not) (?:more|less|fewer|later|earlier|sooner)\b", re.I)
_SOFT = frozenset({"need", "needs", "have", "has", "able", "want", "really", "necessarily",
                   "actually", "always", "ever", "even", "quite", "much"})
_HARD = frozenset("not no never none nothing nobody neither nor cannot".split())
# Words between a negation and what it negates ("not [be] [a] good idea", "don't [need to]").
_FUNCTION = _SOFT | frozenset("""a an the to be been being is are was were am do does did any
    all so very too that this these those it its their your our my his her of for""".split())
# "X rather than Y" / "instead of Y" deny Y: a claim saying so does not state Y.
_ALTERNATIVE = re.compile(r"\b(?:rather than|instead of)\b", re.I)


@lru_cache(maxsize=4096)
def _tagged_scopes(text: str, width: int = 1, hard: bool = False
                   ) -> tuple[tuple[str, frozenset[str]], ...]:
    """(negation word, the roots of the next `width` content words: what it negates) for every
    negation of a text; `hard`: only explicit negations (not, no, never, n't...), not avoid /
    without / lack."""
    tokens = words(_NOT_NEGATIONS.sub(" ", text))
    found = []
    for i, token in enumerate(tokens):
        if token.endswith("n't") or token in (_HARD if hard else NEGATIONS):
            if hard:  # the word negated is the first one past the auxiliaries, even a common
                # verb ("not [used] a year" negates "used", not "year")
                after = [root(t) for t in tokens[i + 1:] if t not in _FUNCTION and len(t) > 1]
            else:
                after = [root(t) for t in tokens[i + 1:]
                         if t not in STOPWORDS and t not in _SOFT and len(t) > 1]
            found.append((token, frozenset(after[:width])))
    return tuple(found)


@lru_cache(maxsize=4096)
def _negated_scopes(text: str, width: int, hard: bool = False) -> tuple[frozenset[str], ...]:
    """`_tagged_scopes` without the negation words."""
    return tuple(scope for _, scope in _tagged_scopes(text, width, hard))


def negation_flip(claim: str, source: str, context: str = "", passage: str = "") -> bool:
    """A negation on one side only: the claim negates a word (the first after its not / never)
    that the source states and the passage never negates; or the source negates a word that the
    claim states with no negation anywhere in `context` (the clause's whole sentence)."""
    s_terms = set(terms(source))
    negated = _negated_scopes(passage or source, 3)
    for scope in _negated_scopes(claim, 1, hard=True):
        if scope & s_terms and not any(scope & other for other in negated):
            return True
    c_terms = set(terms(claim))
    c_wide = _denied(context or claim)
    # a word-like negation (fail, avoid, lack, without...) the claim repeats in another word
    # order ("keeps requests from failing" for "prevent failing requests") is on both sides
    repeated = _roots(context or claim)
    return any(scope & c_terms and not any(scope & other for other in c_wide)
               for word, scope in _tagged_scopes(source)
               if word in _HARD or word.endswith("n't") or root(word) not in repeated)


@lru_cache(maxsize=4096)
def _denied(text: str) -> tuple[frozenset[str], ...]:
    """What a claim's sentence negates, "rather than Y" / "instead of Y" included (a clause
    meets every passage sentence with the same sentence)."""
    return _negated_scopes(_ALTERNATIVE.sub(" not ", text), 3)


@lru_cache(maxsize=4096)
def _roots(text: str) -> frozenset[str]:
    """Roots of every word of a text, stopwords included (for antonym pairs)."""
    return frozenset(root(w) for w in words(text))


@lru_cache(maxsize=1)
def _opposites() -> dict[str, frozenset[str]]:
    """Root of each antonym word -> roots of its opposites (both directions of every pair)."""
    found: dict[str, set[str]] = {}
    for a, b in ANTONYMS:
        found.setdefault(root(a), set()).add(root(b))
        found.setdefault(root(b), set()).add(root(a))
    return {word: frozenset(others) for word, others in found.items()}


def antonym_swap(claim: str, source: str, context: str = "") -> bool:
    """The claim uses one word of an antonym pair where the source uses the other (and not the
    claim's word), or a word and its negative-prefix form ("unlikely" / "likely"); either
    counts only in the same place: a content word next to one is next to the other (so a
    "forget" elsewhere in the source sentence does not oppose the claim's "remember").
    `context`: the sentence the claim (a clause) comes from; a listed pair it uses both words
    of is an enumeration ("P1 high ... P3 low"), not a swap."""
    if _pair_swap(claim, source, context):
        return True
    return any(_same_place(claim, root(a), source, root(b))
               for a, b in prefixed_opposites(_hyphened(claim), _hyphened(source)))


def _pair_swap(claim: str, source: str, context: str = "") -> bool:
    """The listed-pair part of `antonym_swap`."""
    c_words, s_words = _roots(claim), _roots(source)
    said = c_words | _roots(context) if context else c_words
    if _order(claim) is not None and _order(source) is not None:  # `order_swap` reads these
        c_words, s_words = c_words - _ORDER_WORDS, s_words - _ORDER_WORDS
    opposites = _opposites()
    # only words of the claim the source lacks can be the claim's side of a swap
    return any(theirs in s_words and theirs not in said
               and _same_place(claim, mine, source, theirs)
               for mine in c_words - s_words for theirs in opposites.get(mine, ()))


def _same_place(claim: str, mine: str, source: str, theirs: str) -> bool:
    """A content word within three words of `mine` in the claim is within three words of
    `theirs` in the source (both roots)."""
    return bool(_near_words(claim, mine) & _near_words(source, theirs))


@lru_cache(maxsize=8192)
def _near_words(text: str, word: str) -> frozenset[str]:
    """Roots of the words within three words of each occurrence of root `word` (articles,
    copulas and the like left out: they are next to everything)."""
    seq = [root(w) for w in _HYPHENED.findall(text.lower())]
    near: set[str] = set()
    for i, token in enumerate(seq):
        if token == word:
            near.update(seq[max(0, i - 3):i] + seq[i + 1:i + 4])
    return frozenset(t for t in near if t not in _TRIVIAL and len(t) > 1)


_TRIVIAL = frozenset(root(w) for w in """a an the to of and or is are be was were been it its
    this that these those in on at for by with as""".split())


@lru_cache(maxsize=4096)
def _hyphened(text: str) -> frozenset[str]:
    """Lower-cased words, hyphenated ones kept whole ("non-sensitive")."""
    return frozenset(_HYPHENED.findall(text.lower()))


@lru_cache(maxsize=8192)
def _preference(text: str) -> tuple[frozenset[str], frozenset[str]] | None:
    """(preferred, rejected) content words of "X rather than Y" / "instead of Y, X" / "X over Y"
    / "prefer X above Y", or None without such a comparison."""
    match = _COMPARATOR.search(text)
    if match is None:
        return None
    left, right = text[: match.start()], text[match.end():]
    if not terms(left) and "," in right:  # "Instead of Y, X"
        rejected, preferred = right.split(",", 1)
        return frozenset(terms(preferred)), frozenset(terms(rejected))
    return frozenset(terms(left)), frozenset(terms(right))


def comparison_swap(claim: str, source: str) -> bool:
    """ "more X than Y" / "X rather than Y" with X and Y exchanged between source and claim."""
    mine, theirs = _preference(claim), _preference(source)
    if mine is None or theirs is None:
        return False
    (c_left, c_right), (s_left, s_right) = mine, theirs
    s_only_left, s_only_right = s_left - s_right, s_right - s_left
    return bool(c_left & s_only_right - c_right) and bool(c_right & s_only_left - c_left)


@lru_cache(maxsize=8192)
def _order(text: str) -> tuple[frozenset[str], frozenset[str]] | None:
    """(earlier, later) content words of "X before Y" / "Before Y, X" / "X after Y" / "After Y,
    X", or None without such an order."""
    for pattern, later_first in ((_EARLIER, False), (_LATER, True)):
        match = pattern.search(text)
        if match is None:
            continue
        left, right = text[: match.start()], text[match.end():]
        if not terms(left) and "," in right:  # the clause comes first: "Before Y, X"
            right, left = right.split(",", 1)
        first, second = frozenset(terms(left)), frozenset(terms(right))
        return (second, first) if later_first else (first, second)
    return None


def order_swap(claim: str, source: str) -> bool:
    """Two steps put in the opposite order: "use A before B" where the source says "use B
    before A" (or "use A after B")."""
    mine, theirs = _order(claim), _order(source)
    if mine is None or theirs is None:
        return False
    (c_first, c_then), (s_first, s_then) = mine, theirs
    return bool(c_first & (s_then - s_first) - c_then) and \
        bool(c_then & (s_first - s_then) - c_first)


def reversal(claim: str, source: str, context: str = "", passage: str = "") -> str | None:
    """Why the claim reverses `source` ("negation", "antonym", "comparison"), or None;
    `context` is the whole sentence a clause comes from, `passage` all of the cited text."""
    if negation_flip(claim, source, context, passage):
        return "negation"
    if antonym_swap(claim, source, context):
        return "antonym"
    if comparison_swap(claim, source) or order_swap(claim, source):
        return "comparison"
    return None
