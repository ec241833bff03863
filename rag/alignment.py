"""Word alignment of a claim with the passage sentence it restates: what was kept, what changed.

A model that copies a passage sentence and changes one thing leaves the change in the diff: the
claim's content words are aligned, in order, with those of its closest passage sentence
(difflib), and the edits are read:

- a negation on one side of an edit only ("best when it's [not muddied]" vs "best when it's
  [mixed]"): a reversal;
- two words that trade places around an unchanged middle ("a [mixed] environment is preferred
  ... a [single] one is needed" vs the other way round): a swap;
- content words replaced by others in an otherwise copied sentence ("some other [company]" for
  "some other [team]"): a substitution, the mark of a changed fact (`substitution`);
- a number next to a word the passage counts with another number ("500 concurrent users" where
  the passage says "250 concurrent users"), wherever in the passage that number occurs.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

from rag.claims import root
from rag.text import STOPWORDS, words

NOT = "¬"  # the token every negation word becomes, so "do not" and "don't" align
_NEGATION_WORDS = frozenset("not no never none nothing nobody neither nor cannot without".split())
_NUMBER_UNIT = re.compile(r"(\d+(?:[.,]\d+)*)\s*%?\s+([A-Za-z][A-Za-z-]+)")


@lru_cache(maxsize=8192)
def tokens(text: str) -> tuple[str, ...]:
    """Content-word roots and negations (as NOT) of a text, in order."""
    out: list[str] = []
    for word in words(text):
        if word.endswith("n't") or word in _NEGATION_WORDS:
            out.append(NOT)
        elif word not in STOPWORDS and len(word) > 1:
            out.append(root(word))
    return tuple(out)


@dataclass(frozen=True)
class Diff:
    """The edits between a claim and one passage sentence."""

    copied: float  # share of the claim's tokens aligned, in order, with the sentence's
    negation: bool  # an edit with a negation on one side only
    swap: bool  # two words trading places around an unchanged middle
    substituted: int  # claim content words replacing sentence words (when mostly copied)


def diff(claim: str, source: str) -> Diff:
    """Align `claim` with `source` (one passage sentence) and read the edits."""
    return _diff(tokens(claim), tokens(source))


@lru_cache(maxsize=8192)
def _diff(mine: tuple[str, ...], theirs: tuple[str, ...]) -> Diff:
    if not mine or not theirs:
        return Diff(0.0, False, False, 0)
    ops = SequenceMatcher(None, mine, theirs, autojunk=False).get_opcodes()
    kept = sum(i2 - i1 for tag, i1, i2, _, _ in ops if tag == "equal")
    copied = kept / len(mine)
    # an edit at either end only means the claim copied part of the sentence: not read
    edits = [(set(mine[i1:i2]), set(theirs[j1:j2])) for n, (tag, i1, i2, j1, j2) in enumerate(ops)
             if tag == "replace" or (tag != "equal" and 0 < n < len(ops) - 1)]
    # a negation edited in or out; when both sides hold as many negations it moved, not
    # flipped ("a state the public [can't] access" for "a state where it's [not] available for
    # public access"): the reversal checks of rag/reversal.py still read the scopes
    negation = copied >= 0.5 and mine.count(NOT) != theirs.count(NOT) and \
        any((NOT in c) != (NOT in s) for c, s in edits)
    # two words exchanged means something only in a sentence that was copied, as a substitution
    swap = copied >= 0.5 and _exchanged(mine, theirs)
    substituted = sum(sum(not _kept(t, theirs) for t in c - {NOT} - _LIGHT)
                      for c, s in edits if c and s - {NOT}) if copied >= 0.5 else 0
    return Diff(copied, negation, swap, substituted)


# A claim copying at least this share of a passage sentence's words, in order, with a content
# word replaced, states a changed fact ("hammering [upstream] services" for "[downstream]").
# Chosen on the DEV split of evals/datasets/support.jsonl: no supported dev sentence copies 60%
# of a sentence with a word replaced; 0.7 leaves a margin for a synonym in a close paraphrase.
SUBSTITUTION_COPIED = 0.7


def substitution(found: Diff) -> bool:
    """A mostly copied sentence (SUBSTITUTION_COPIED) with a content word replaced."""
    return found.copied >= SUBSTITUTION_COPIED and found.substituted > 0


def _kept(token: str, theirs: tuple[str, ...]) -> bool:
    """The source has the token in another form: a plural or possessive ("VMs" / "VM's"), or
    an inflection the stemmer missed ("make" / "making": all but the last letter shared)."""
    token = token.removesuffix("'s").removesuffix("s")
    for other in theirs:
        other = other.removesuffix("'s").removesuffix("s")
        if token == other:
            return True
        shared = len(os.path.commonprefix([token, other]))
        if shared >= 3 and shared >= min(len(token), len(other)) - 1:
            return True
    return False


# Light verbs a paraphrase swaps freely ("trust [comes] from" for "trust is [built] by"): not a
# changed fact by themselves.
_LIGHT = frozenset(root(w) for w in """come comes get gets make makes take takes go goes become
    becomes give gives put puts set sets keep keeps bring brings let lets seem seems remain
    remains stay stays turn turns happen happens""".split())


def _exchanged(mine: tuple[str, ...], theirs: tuple[str, ...]) -> bool:
    """Two words that trade places around an unchanged middle: the words both sides use once,
    in order, are the same except that x ... y in one reads y ... x in the other (with at least
    one word between them), as in "the [local] runner for builds and the [hosted] runner" for
    "the [hosted] runner for builds and the [local] runner"."""
    shared = {t for t in set(mine) & set(theirs)
              if t != NOT and mine.count(t) == 1 and theirs.count(t) == 1}
    a = [t for t in mine if t in shared]
    b = [t for t in theirs if t in shared]
    for i, word in enumerate(a):
        for j in range(i + 2, len(a)):
            if b[i] == a[j] and b[j] == word and a[i + 1:j] == b[i + 1:j]:
                return True
    return False


def closest(claim: str, sources: list[str]) -> int:
    """Index of the source sentence sharing the longest in-order run of tokens with the claim
    (most matched tokens first, then the higher copied share); -1 when none shares any."""
    mine = tokens(claim)
    best, best_key = -1, (0, 0.0)
    for i, source in enumerate(sources):
        theirs = tokens(source)
        matched = _matched(mine, theirs)
        key = (matched, matched / max(len(theirs), 1))
        if matched and key > best_key:
            best, best_key = i, key
    return best


@lru_cache(maxsize=8192)
def _matched(mine: tuple[str, ...], theirs: tuple[str, ...]) -> int:
    """Tokens difflib's matching blocks align (a claim meets the same passage sentence again
    when it is checked against the cited passages together)."""
    if _token_set(mine).isdisjoint(_token_set(theirs)):
        return 0  # no common token: no matching block
    return sum(b.size for b in SequenceMatcher(
        None, mine, theirs, autojunk=False).get_matching_blocks())


@lru_cache(maxsize=8192)
def _token_set(found: tuple[str, ...]) -> frozenset[str]:
    return frozenset(found)


@lru_cache(maxsize=1024)
def _passage_units(passage: str) -> frozenset[tuple[str, str]]:
    return frozenset(number_units(passage))


def number_units(text: str) -> set[tuple[str, str]]:
    """(number, root of the word after it) pairs: "250 concurrent users" -> ("250", "concurr")."""
    return {(n.replace(",", ""), root(w.lower())) for n, w in _NUMBER_UNIT.findall(text)
            if w.lower() not in STOPWORDS}


def changed_count(claim: str, passage: str) -> bool:
    """The claim counts something ("500 concurrent users") that the passage counts with another
    number only ("250 concurrent users")."""
    theirs = _passage_units(passage)  # a passage meets every sentence of an answer
    for number, unit in number_units(claim):
        counted = {n for n, u in theirs if u == unit}
        if counted and number not in counted:
            return True
    return False
