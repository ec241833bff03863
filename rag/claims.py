"""Rule checks of one claim against the passage it cites: no model, pure functions over strings.

The citation checker (`rag.citations`) splits a sentence into claim-bearing clauses and asks, for
each clause, the questions a careful reader asks before trusting a citation:

- reversal (`rag.reversal`): a negation on one side only, an antonym swapped in, the two sides
  of "more X than Y" exchanged;
- changed facts: a number, or a name / acronym, that the passage does not contain;
- novel content: content words (stemmed) and word pairs the passage never uses, so a true
  opening followed by an invented tail does not pass on its opening;
- filler: a sentence that states nothing ("It depends on the team.") is not a verified claim.

Each check returns a short reason ("negation", "antonym", ...) or None.
"""

from __future__ import annotations

import re
from collections import Counter
from difflib import SequenceMatcher
from functools import lru_cache

from rag.text import STOPWORDS, loose_stem, words

# A number stands alone: digits inside a word, an identifier or a link ("K8s", "15glvq9") are
# not numbers the claim could change; links are removed before numbers are read.
_NUMBER = re.compile(r"(?<![A-Za-z0-9])\d+(?:[.,]\d+)*(?![A-Za-z0-9])")
_LINK = re.compile(r"\]\([^)\s]*\)|https?://\S+")
NUMBER_WORDS = {
    "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "fifteen": "15", "twenty": "20",
    "thirty": "30", "forty": "40", "fifty": "50", "hundred": "100", "thousand": "1000",
    "twice": "2", "couple": "2", "half": "50%", "dozen": "12", "first": "1st", "second": "2nd",
    "third": "3rd",
}
_CAPITALISED = re.compile(r"\b([A-Z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*)")
_ACRONYM = re.compile(r"^[A-Z0-9]{2,}s?$")
_ALNUM = re.compile(r"[a-z0-9]+")
# Words a model adds that state nothing by themselves ("It depends on the team").
_GENERIC_WORDS = tuple("""depend depends vary varies varying different case cases
    situation situations context important key crucial essential helpful useful good great
    important consider remember note worth keep mind general generally overall summary conclusion
    hope question answer approach approaches matter matters factor factors specific team teams
    organization organisation every each always sometimes many several various usually point
    points say said detail details tip tips idea ideas here summarize summarise
    following""".split())
_FILLER = re.compile(
    r"^(?:it|this|that|everything|success)\s+(?:all\s+)?(?:really\s+)?depends\b|"
    r"\b(?:hope (?:this|that|it) (?:helps|answers)|great question|good question|let me know|"
    r"feel free)\b|"
    r"^(?:in (?:summary|conclusion|short)|overall|ultimately)\W*$|"
    r"\b(?:your )?mileage may vary\b|\bno one[- ]size[- ]fits[- ]all\b|"
    r"\bevery (?:team|situation|case|organi[sz]ation) is different\b", re.I)
_CLAUSE_BREAK = re.compile(
    r"\s*(?:;|:\s|\s[-–—]\s|,\s*(?=(?:and|but|so|which|because|while|whereas|although|though|"
    r"yet|or|then|since|as)\b)|,\s+|\s+(?=(?:but|because|which|whereas|although|though|while|"
    r"since|so that|and then|and)\s))", re.I)


@lru_cache(maxsize=1 << 16)
def root(word: str) -> str:
    """`stem`, then a final e and a doubled consonant dropped, so that encourage / encouraged,
    drop / dropping and close / closed meet."""
    word = loose_stem(word)
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    if len(word) >= 4 and word[-1] == word[-2] and word[-1] not in "aeioulsz":
        word = word[:-1]
    return word


def terms(text: str) -> list[str]:
    """Stemmed content words of a text, in order (stopwords and one-letter tokens removed)."""
    return list(_terms(text))


@lru_cache(maxsize=4096)
def _terms(text: str) -> tuple[str, ...]:
    return tuple(root(w) for w in words(text) if w not in STOPWORDS and len(w) > 1)


def clauses(sentence: str, min_terms: int = 2) -> list[str]:
    """The claim-bearing clauses of a sentence: split at ; : dashes, commas and connectives
    (and, but, because, which, ...); a piece with fewer than `min_terms` content words is joined
    to its neighbour so that every clause can be judged on its own."""
    pieces = [p.strip(" ,;:") for p in _CLAUSE_BREAK.split(sentence) if p and p.strip(" ,;:")]
    merged: list[str] = []
    for piece in pieces:
        if merged and (len(terms(piece)) < min_terms or len(terms(merged[-1])) < min_terms):
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    return merged or [sentence.strip()]


def is_filler(text: str) -> bool:
    """True for a sentence that states nothing checkable ("It depends on the team.")."""
    if _FILLER.search(text.strip()):
        return True
    found = set(terms(text))
    return not found or (len(found) <= 3 and found <= _generic())


@lru_cache(maxsize=1)
def _generic() -> frozenset[str]:
    return frozenset(root(w) for w in _GENERIC_WORDS)


@lru_cache(maxsize=4096)
def _numbers(text: str) -> frozenset[str]:
    return frozenset(numbers(text))


def numbers(text: str) -> set[str]:
    """Numbers in a text, digits normalised ("1,000" -> "1000"), number words as digits
    ("ten thousand" -> "10000")."""
    found = {n.replace(",", "") for n in _NUMBER.findall(_LINK.sub(" ", text))}
    value: float | None = None
    for word in [*words(text), ""]:
        if word in ("hundred", "thousand", "million") and value is not None:
            value *= {"hundred": 100, "thousand": 1000, "million": 1_000_000}[word]
            continue
        if value is not None:
            found.add(f"{value:g}" if value < 1e6 else str(int(value)))
            value = None
        digits = NUMBER_WORDS.get(word, "")
        if digits.isdigit():
            value = float(digits)
        elif digits:
            found.add(digits)
    return found


def changed_number(claim: str, passage: str) -> bool:
    """The claim states a number the passage does not contain (in digits or words)."""
    wanted = {n for n in _numbers(claim) if not n.endswith(("st", "nd", "rd"))}
    return bool(wanted - _numbers(passage))


def names(text: str) -> set[str]:
    """Lower-cased names and acronyms: capitalised words not opening a sentence, and all-caps
    words anywhere."""
    found: set[str] = set()
    for match in _CAPITALISED.finditer(text):
        word = match.group(1)
        before = text[: match.start()].rstrip()
        opening = not before or before[-1] in ".!?:;(-–—*" or before.endswith("- ")
        if _ACRONYM.match(word) or (not opening and word != "I" and word.lower() not in STOPWORDS):
            found.add(word.lower())
    return found


def changed_name(claim: str, passage: str) -> bool:
    """The claim names a person, product, place or acronym that the passage never mentions."""
    vocabulary = _vocabulary(passage)
    # an acronym's plural or possessive ("VMs", "VM's") names the same thing; one the passage
    # spells out ("PII": "Personally Identifiable Information") is not a new name
    return any(not parts <= vocabulary and stem not in vocabulary
               and stem.removesuffix("'s") not in vocabulary and f"{stem}s" not in vocabulary
               and stem.removesuffix("s") not in _spelled_out(passage)
               for parts, stem in _name_keys(claim))


_SPELLING = re.compile(r"[A-Za-z][A-Za-z-]*|[^\sA-Za-z]+")  # words, and what breaks a run
_LINKING = frozenset({"of", "and", "for", "the", "to", "in", "on"})


@lru_cache(maxsize=1024)
def _spelled_out(passage: str) -> frozenset[str]:
    """Acronyms (lower case) the passage spells out: the initials of 2-6 capitalised words in a
    row, with nothing but spaces and single linking words (of, and, for, ...) between them
    ("Personally Identifiable Information" -> "pii", "Department of Defense" -> "dd", "dod")."""
    found: set[str] = set()
    tokens = _SPELLING.findall(passage)
    for i, first in enumerate(tokens):
        if not _capitalised(first) or first.lower() in STOPWORDS:
            continue
        bare = full = first[0]
        linked = False
        for word in tokens[i + 1:i + 12]:
            if word.lower() in _LINKING and not linked:
                full, linked = full + word[0], True
                continue
            if not _capitalised(word) or len(bare) == 6:
                break
            bare, full, linked = bare + word[0], full + word[0], False
            found.update({bare.lower(), full.lower()})
    return frozenset(found)


def _capitalised(token: str) -> bool:
    """A word with a capital first letter and lower-case letters after it ("Identifiable")."""
    letters = token.replace("-", "")
    return letters[:1].isupper() and letters.isalpha() and (len(letters) == 1 or
                                                            letters[1:].islower())


@lru_cache(maxsize=4096)
def _name_keys(claim: str) -> tuple[tuple[frozenset[str], str], ...]:
    """(word pieces, stem) of each name of a claim (checked against every passage)."""
    return tuple((frozenset(_ALNUM.findall(name)), loose_stem(name)) for name in names(claim))


@lru_cache(maxsize=1024)
def _vocabulary(passage: str) -> frozenset[str]:
    found = {w.lower() for w in re.findall(r"[A-Za-z0-9]+", passage)}
    return frozenset(found | {loose_stem(w) for w in found})


def _soft(term: str) -> str:
    """A looser key than the stem: the first six letters ("transparent"/"transparency")."""
    return term[:6] if len(term) >= 7 else term


@lru_cache(maxsize=1024)
def _known(passage: str) -> frozenset[str]:
    found = set(terms(passage))
    return frozenset(found | {_soft(t) for t in found})


def novel_terms(claim: str, passage: str) -> list[str]:
    """Content words of the claim that the passage never uses (stem or six-letter prefix)."""
    known = _known(passage)
    return [t for t, soft in _soft_terms(claim) if t not in known and soft not in known]


@lru_cache(maxsize=4096)
def _soft_terms(claim: str) -> tuple[tuple[str, str], ...]:
    """The claim's distinct terms, in order, each with its six-letter key."""
    return tuple((t, _soft(t)) for t in dict.fromkeys(terms(claim)))


@lru_cache(maxsize=1024)
def _near(passage: str, window: int) -> frozenset[frozenset[str]]:
    source = [_soft(t) for t in terms(passage)]
    return frozenset(frozenset((a, b)) for i, a in enumerate(source)
                     for b in source[i + 1:i + window + 1])


def novel_pairs(claim: str, passage: str, window: int = 3) -> float:
    """Share of the claim's adjacent content-word pairs that never occur within `window` words
    of each other in the passage (0 when the claim has no pair)."""
    pairs = _soft_pairs(claim)
    if not pairs:
        return 0.0
    near = _near(passage, window)
    missing = [p for p in pairs if p not in near]
    return len(missing) / len(pairs)


@lru_cache(maxsize=4096)
def _soft_pairs(claim: str) -> tuple[frozenset[str], ...]:
    """The six-letter keys of each distinct pair of adjacent (different) terms of a claim."""
    seq = terms(claim)
    pairs = {frozenset(p) for p in zip(seq, seq[1:], strict=False) if p[0] != p[1]}
    return tuple(frozenset(_soft(t) for t in p) for p in pairs)


def near_duplicate(a: str, b: str, threshold: float = 0.8) -> bool:
    """Two sentences saying the same: their content words, in order, match at `threshold`
    (difflib ratio), so a repeat with a word changed counts but a reversal ("giving rather than
    asking" after "asking rather than giving") does not."""
    ta, tb = terms(a), terms(b)
    if not ta or not tb:
        return a.strip().lower() == b.strip().lower()
    # difflib's ratio is 2M/T with M at most the words the two share (its quick_ratio): when
    # that bound misses the threshold, so does the ratio
    shared = sum((Counter(ta) & Counter(tb)).values())
    if 2.0 * shared / (len(ta) + len(tb)) < threshold:
        return False
    return SequenceMatcher(None, ta, tb, autojunk=False).ratio() >= threshold
