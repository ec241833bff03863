"""The checker's shortcuts (indexes, caches, early exits) give what the plain computation gives.

Each reference below is the straightforward code the shortcut replaced; hypothesis draws
sentences from words that exercise the checks (antonym pairs, numbers, names, repeats).
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from hypothesis import given, settings
from hypothesis import strategies as st

from rag import alignment, claims, reversal
from rag.text import loose_stem

_VOCABULARY = sorted({w for pair in reversal.ANTONYMS[:40] for w in pair} | {
    "team", "teams", "review", "reviews", "code", "deploy", "users", "250", "500", "the", "a",
    "not", "never", "Slack", "GitHub", "AWS", "Jira", "transparent", "transparency", "weekly",
    "meeting", "meetings", "ten", "hundred", "before", "ship", "shipping", "risk"})
_SENTENCE = st.lists(st.sampled_from(_VOCABULARY), min_size=0, max_size=12).map(" ".join)


def _antonym_reference(claim: str, source: str) -> bool:
    c_words, s_words = reversal._roots(claim), reversal._roots(source)
    if reversal._order(claim) is not None and reversal._order(source) is not None:
        c_words, s_words = c_words - {"before", "after"}, s_words - {"before", "after"}
    for a, b in reversal.ANTONYMS:
        a, b = claims.root(a), claims.root(b)
        for mine, theirs in ((a, b), (b, a)):
            if mine in c_words and theirs not in c_words and theirs in s_words \
                    and mine not in s_words and reversal._same_place(claim, mine, source, theirs):
                return True
    return False


def _near_duplicate_reference(a: str, b: str, threshold: float) -> bool:
    ta, tb = claims.terms(a), claims.terms(b)
    if not ta or not tb:
        return a.strip().lower() == b.strip().lower()
    return SequenceMatcher(None, ta, tb, autojunk=False).ratio() >= threshold


def _novel_pairs_reference(claim: str, passage: str, window: int = 3) -> float:
    seq = claims.terms(claim)
    pairs = {frozenset(p) for p in zip(seq, seq[1:], strict=False) if p[0] != p[1]}
    if not pairs:
        return 0.0
    source = [claims._soft(t) for t in claims.terms(passage)]
    near = {frozenset((a, b)) for i, a in enumerate(source) for b in source[i + 1:i + window + 1]}
    return sum(frozenset(claims._soft(t) for t in p) not in near for p in pairs) / len(pairs)


def _changed_name_reference(claim: str, passage: str) -> bool:
    found = {w.lower() for w in re.findall(r"[A-Za-z0-9]+", passage)}
    vocabulary = found | {loose_stem(w) for w in found}
    return any(not set(re.findall(r"[a-z0-9]+", name)) <= vocabulary
               and loose_stem(name) not in vocabulary
               and loose_stem(name).removesuffix("'s") not in vocabulary
               and f"{loose_stem(name)}s" not in vocabulary for name in claims.names(claim))


@settings(max_examples=300, deadline=None)
@given(_SENTENCE, _SENTENCE)
def test_antonym_index_matches_the_pair_scan(claim: str, source: str) -> None:
    assert reversal._pair_swap(claim, source) == _antonym_reference(claim, source)


@settings(max_examples=300, deadline=None)
@given(_SENTENCE, _SENTENCE, st.sampled_from([0.5, 0.8, 0.9]))
def test_near_duplicate_bound_never_changes_the_ratio_test(a: str, b: str, limit: float) -> None:
    assert claims.near_duplicate(a, b, limit) == _near_duplicate_reference(a, b, limit)


@settings(max_examples=300, deadline=None)
@given(_SENTENCE, st.lists(_SENTENCE, min_size=1, max_size=4))
def test_closest_matches_difflib_on_every_sentence(claim: str, sources: list[str]) -> None:
    mine = alignment.tokens(claim)
    for source in sources:
        theirs = alignment.tokens(source)
        blocks = SequenceMatcher(None, mine, theirs, autojunk=False).get_matching_blocks()
        assert alignment._matched(mine, theirs) == sum(b.size for b in blocks)


@settings(max_examples=300, deadline=None)
@given(_SENTENCE, _SENTENCE)
def test_claim_side_caches_match_the_plain_checks(claim: str, passage: str) -> None:
    assert claims.novel_pairs(claim, passage) == _novel_pairs_reference(claim, passage)
    assert claims.changed_name(claim, passage) == _changed_name_reference(claim, passage)
    wanted = {n for n in claims.numbers(claim) if not n.endswith(("st", "nd", "rd"))}
    assert claims.changed_number(claim, passage) == bool(wanted - claims.numbers(passage))
