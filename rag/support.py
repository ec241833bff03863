"""Does a passage support a claim? Measure every clause (`analyse`), then decide (`judge`,
rag/support_judge.py).

A sentence is split into claim-bearing clauses (`rag.claims.clauses`). Rules veto it outright:
filler ("It depends on the team."), a reversal of its closest passage sentences (negation,
antonym, swapped comparison: `rag.reversal`), a number or name the passage lacks, a number
counting something the passage counts with another number, a negation dropped or added inside a
copied sentence, two words exchanged, or a word of a mostly copied sentence replaced by another
(`rag.alignment`). Past the vetoes, the decision is

- "rules": a score of w x best MiniLM cosine to one passage sentence + (1 - w) x
  share of its content words found in the passage >= `support_threshold`, every clause
  of 2+ content words >= `support_clause_threshold`, and no invented tail beside a copied clause;
- "learned" (the default since 2026-12-02): the frozen logistic regression of
  rag/support_model.py over the measured signals, P(supported) >= `support_learned_threshold`,
  and the rules' sentence score above >= `support_learned_floor` (a right fact cited to the
  wrong passage: see rag/support_model.py).
  The word alignment the model reads (a model run per new text) is measured only for claims
  that pass the vetoes and the floor (`needs_tokens`): the others are rejected whatever P is.

Both were calibrated on the DEV split of evals/datasets/support.jsonl only (rag/settings.py).

The MiniLM call that embeds the claim is most of the checker's cost, and the vetoes need no
vector (a cosine only picks which passage sentences a clause's reversal is read against), so
`support_score` reads the vetoes first and embeds the claim only when its verdict can still
depend on a cosine (`needs_vector`); the verdict is the one the full measurement gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from rag import alignment, reversal, token_align
from rag import claims as rules
from rag.support_judge import features, judge, veto
from rag.support_types import (
    DEFAULTS,
    SUPPORT_THRESHOLD,
    Analysis,
    ClauseFacts,
    Support,
    Thresholds,
)
from rag.text import Unit, content_terms, plain, strip_citations, units, words
from rag.vector_cache import VECTORS, default_embedder

if TYPE_CHECKING:
    import numpy as np


__all__ = ["DEFAULTS", "SUPPORT_THRESHOLD", "Analysis", "ClauseFacts", "Support", "Thresholds",
           "analyse", "claim_text", "copied_sentence", "default_embedder", "features", "judge",
           "measure_tokens", "needs_tokens", "needs_vector", "prefetch_tokens", "support_score",
           "supports", "veto"]


def analyse(claim: str, passage: str, embedder: Any = None,
            clause_vectors: bool | None = None, tokens: bool | None = None,
            lazy: bool = False, copies: bool = False, pooled: bool | None = None) -> Analysis:
    """Measure each clause of `claim` against `passage` (the costly, threshold-free part).
    `clause_vectors`: give each clause of a long sentence a vector of its own (under the
    learned model the clauses' own cosines choose the passage sentences a clause's reversal is
    read against, and the fallback model without word vectors weighs them; the rules judge a
    clause by the sentence's, which costs one model input per sentence instead of one per
    clause); `pooled`: pool those from the claim's run of the token graph
    (`token_align.clause_vectors`: the learned model, fitted on them, when the embedder has
    per-token vectors) instead of encoding each clause alone; `tokens`: align the claim's words
    with the passage's (rag/token_align.py, the learned model's strongest inputs; one more
    model run per new text); None: as the default thresholds say. `lazy`: when a veto that no
    cosine can change rejects the claim, return it unmeasured (`Analysis.measured` False: no
    model call, NaN cosines, the clauses up to the vetoed one) instead of embedding the claim;
    `copies`: a claim copying a passage sentence takes that sentence's vector
    (`copied_sentence`; not for the learned model, whose inputs were measured with the claim's
    own vector)."""
    claim = claim_text(claim)
    parts = _units(passage)
    lexical = _overlap(claim, passage)
    if _filler(claim):
        return Analysis([], 0.0, lexical, None, True)
    pieces = _clauses(claim)
    if lazy and (vetoed := _unmeasured(claim, passage)) is not None:
        return replace(vetoed)
    embedder = embedder if embedder is not None else default_embedder()
    if clause_vectors is None:
        clause_vectors = DEFAULTS.own_clause_vectors
    own = clause_vectors and len(pieces) > 1
    if pooled is None:
        pooled = DEFAULTS.model == "learned"
    inside = token_align.clause_vectors(claim, pieces, embedder) if own and pooled else None
    alone = own and inside is None
    texts = [(copies and copied_sentence(claim, passage)) or claim, *(pieces if alone else []),
             *(u.text for u in parts)]
    matrix = VECTORS.encode(texts, embedder)
    units_matrix = matrix[len(texts) - len(parts):]
    sims = units_matrix @ matrix[0]
    best = int(sims.argmax())
    rows = inside if inside is not None else matrix[1:1 + len(pieces)]
    facts = [_clause(piece, passage, parts, units_matrix @ rows[i] if own else sims, claim)
             for i, piece in enumerate(pieces)]
    result = Analysis(facts, float(sims[best]), lexical, (parts[best].start, parts[best].end),
                      False, novel=len(rules.novel_terms(claim, passage)),
                      pairs=rules.novel_pairs(claim, passage))
    result.copy = copies_span(claim, passage)
    _sentence_checks(result, claim, passage, parts)
    if tokens if tokens is not None else DEFAULTS.model == "learned":
        result.tokens = token_align.features(claim, [u.text for u in parts], embedder, pieces)
    return result


@lru_cache(maxsize=1024)
def _units(passage: str) -> tuple[Unit, ...]:
    """The passage's sentences (a passage is checked against every sentence of an answer)."""
    return tuple(units(passage)) or (Unit(passage.strip(), 0, len(passage), False, 0),)


@lru_cache(maxsize=1024)
def _passage_terms(passage: str) -> frozenset[str]:
    return frozenset(content_terms(passage))


def _overlap(claim: str, passage: str) -> float:
    """Share of the claim's content words found in the passage (`rag.text.overlap`, with the
    passage's words computed once per passage)."""
    found = _claim_terms(claim)
    return len(found & _passage_terms(passage)) / len(found) if found else 0.0


# A claim is measured against every passage (re-attribution, the cited passages together):
# what depends on the claim alone is computed once.
@lru_cache(maxsize=4096)
def _claim_terms(claim: str) -> frozenset[str]:
    return frozenset(content_terms(claim))


@lru_cache(maxsize=4096)
def _filler(claim: str) -> bool:
    return rules.is_filler(claim)


@lru_cache(maxsize=4096)
def _clauses(claim: str) -> tuple[str, ...]:
    return tuple(rules.clauses(claim))


def _sentence_checks(result: Analysis, claim: str, passage: str, parts: Sequence[Unit]) -> None:
    """The whole sentence against the passage sentence it copies most: a reversal of it, edits
    that drop a negation or exchange words, a count the passage gives with another number."""
    texts = [u.text for u in parts]
    i = alignment.closest(claim, texts)
    if i >= 0:
        result.diff = alignment.diff(claim, texts[i])
        result.rule = (reversal.reversal(claim, texts[i], claim, passage) or "")
        if not result.rule and result.diff.negation:
            result.rule = "negation"
        elif not result.rule and result.diff.swap:
            result.rule = "swap"
        elif not result.rule and alignment.substitution(result.diff):
            result.rule = "substitution"
    if not result.rule and alignment.changed_count(claim, passage):
        result.rule = "number"


def _clause(
    clause: str, passage: str, parts: Sequence[Unit], sims: np.ndarray, sentence: str
) -> ClauseFacts:
    found = _term_set(clause)
    facts = ClauseFacts(clause, float(sims.max()), len(found),
                        rules.novel_terms(clause, passage), rules.novel_pairs(clause, passage), "")
    facts.rule = _fact_rule(clause, passage) or _reversal(clause, sentence, passage, parts,
                                                          sims) or ""
    return facts


def claim_text(claim: str) -> str:
    """The text of a claim the checker reads and embeds (citations and Markdown removed)."""
    return plain(strip_citations(claim))


def copied_sentence(claim: str, passage: str) -> str | None:
    """The passage sentence `claim` copies word for word (case, punctuation and Markdown
    aside), whose vector stands for the claim's: it usually has one already (the index's
    sentence table, the cache), and the two say the same; None when it copies none."""
    key = _word_key(claim)
    return next((u.text for u in _units(passage) if _word_key(u.text) == key), None)


@lru_cache(maxsize=8192)
def _word_key(text: str) -> tuple[str, ...]:
    return tuple(words(plain(text)))


COPY_TERMS = 2  # content words a copied run needs to be a claim ("the team" states nothing)
_DIGITS = {**rules.NUMBER_WORDS, "one": "1"}


def copies_span(claim: str, passage: str) -> bool:
    """The claim is a word-for-word run of the passage (case, punctuation, Markdown and a
    number written in words or digits aside) of COPY_TERMS+ content words: a clause copied out
    of a longer sentence ("Reviews should start within 1 working day" from "Reviews should
    start within one working day, and ...") says what the passage says. One substring search."""
    if len(_claim_terms(claim)) < COPY_TERMS:
        return False
    return f" {' '.join(_copy_key(claim))} " in f" {' '.join(_copy_key(passage))} "


@lru_cache(maxsize=4096)
def _copy_key(text: str) -> tuple[str, ...]:
    return tuple(_DIGITS.get(w, w) for w in words(plain(text)))


def needs_vector(claim: str, passage: str) -> bool:
    """Whether `support_score(claim, passage)` (lazy) needs a vector of the claim (its own, or
    that of the passage sentence it copies): no veto rejects it whatever its cosines are."""
    claim = claim_text(claim)
    return not _filler(claim) and _unmeasured(claim, passage) is None


@lru_cache(maxsize=4096)
def _unmeasured(claim: str, passage: str) -> Analysis | None:
    """The vetoed analysis of `claim` (a `claim_text`, not filler) when a veto rejects it
    whatever its cosines are, else None (the claim must be embedded). The cosines only choose
    which passage sentences a clause's reversal is read against: a clause that reverses none of
    them is not reversed whichever the cosine picks, one that reverses some needs them. `judge`
    stops at the first clause with a rule, so the clauses after it are not read. Cached: the
    answer's check asks first which sentences need a vector, then checks them."""
    parts, pieces, nan = _units(passage), _clauses(claim), float("nan")
    facts: list[ClauseFacts] = []
    for piece in pieces:
        rule = _fact_rule(piece, passage) or _reversal(piece, claim, passage, parts, None)
        if rule is None:
            return None  # a reversal depends on which sentences the cosines pick
        facts.append(ClauseFacts(piece, nan, len(_term_set(piece)),
                                 rules.novel_terms(piece, passage),
                                 rules.novel_pairs(piece, passage), rule))
        if rule:
            break
    result = Analysis(facts, nan, _overlap(claim, passage), None, False, measured=False,
                      novel=len(rules.novel_terms(claim, passage)),
                      pairs=rules.novel_pairs(claim, passage))
    if not facts[-1].rule:
        _sentence_checks(result, claim, passage, parts)
    return result if facts[-1].rule or result.rule else None


def _fact_rule(clause: str, passage: str) -> str:
    """A number or a name of the clause that the passage lacks, or ""."""
    if rules.changed_number(clause, passage):
        return "number"
    return "name" if rules.changed_name(clause, passage) else ""


def _reversal(
    clause: str, sentence: str, passage: str, parts: Sequence[Unit], sims: np.ndarray | None
) -> str | None:
    """A reversal of a passage sentence the clause restates: one holding all its content words
    if there is one, else those it (or its whole sentence) resembles most, by meaning and by
    shared words. Without `sims` (the clause's cosines to each passage sentence), None when the
    answer depends on them (`_reversal_unmeasured`)."""
    found = _term_set(clause)
    unit_terms = _unit_terms(passage)  # parts are _units(passage)
    closest = {j for j, t in enumerate(unit_terms) if found and found <= t}
    if not closest and sims is None:
        return _reversal_unmeasured(clause, sentence, passage, parts)
    if not closest:
        assert sims is not None
        closest = {int(sims.argmax())}
        similar = sims.tolist()  # Python floats, converted once
        for text in (clause, sentence):
            words = _term_set(text)
            shared = [len(words & t) for t in unit_terms]
            ranked = sorted(range(len(parts)), key=lambda j: (-shared[j], -similar[j]))
            closest.update(j for j in ranked[:2] if shared[j])
    flips = (reversal.reversal(clause, parts[j].text, sentence, passage) for j in sorted(closest))
    return next((f for f in flips if f), "")


def _reversal_unmeasured(clause: str, sentence: str, passage: str,
                         parts: Sequence[Unit]) -> str | None:
    """`_reversal` when no passage sentence holds all the clause's words, without the cosines,
    which pick the sentence read (the closest by meaning) and break ties between sentences
    sharing as many words: the first reversed passage sentence decides when it is read
    whatever the cosines are (among the two sharing the most words with the clause or its
    sentence, with no tie for that place); "" when none is reversed; None otherwise."""
    for j, unit in enumerate(parts):
        flip = reversal.reversal(clause, unit.text, sentence, passage)
        if flip:
            return flip if _always_read(j, (clause, sentence), passage) else None
    return ""


def _always_read(j: int, texts: Sequence[str], passage: str) -> bool:
    """Passage sentence j shares words with one of `texts` and at most one other sentence
    shares as many: it is among the two `_reversal` reads for that text, whatever the
    cosines."""
    unit_terms = _unit_terms(passage)
    for text in texts:
        words = _term_set(text)
        shared = [len(words & t) for t in unit_terms]
        if shared[j] and sum(s >= shared[j] for s in shared) <= 2:  # j itself and one other
            return True
    return False


@lru_cache(maxsize=8192)
def _term_set(text: str) -> frozenset[str]:
    return frozenset(rules.terms(text))


@lru_cache(maxsize=1024)
def _unit_terms(passage: str) -> tuple[frozenset[str], ...]:
    """The content-word roots of each passage sentence (a passage meets every clause)."""
    return tuple(_term_set(u.text) for u in _units(passage))


def support_score(
    claim: str, passage: str, embedder: Any = None, thresholds: Thresholds = DEFAULTS,
    lazy: bool = True,
) -> Support:
    """Support of `claim` by `passage`, clause by clause (the weakest clause decides). `lazy`:
    a claim a veto rejects whatever its cosines are is not embedded (its `score` and
    `similarity` are then NaN), and under the rules a claim copying a passage sentence takes
    that sentence's vector (`copied_sentence`); False measures every claim with its own."""
    rules_model = thresholds.model == "rules"
    analysis = analyse(claim, passage, embedder, thresholds.own_clause_vectors,
                       tokens=False, lazy=lazy, copies=lazy and rules_model,
                       pooled=not rules_model)
    if not rules_model and needs_tokens(analysis, thresholds):
        measure_tokens(analysis, claim, passage, embedder)
    return judge(analysis, thresholds)


def prefetch_tokens(passages: Sequence[str], embedder: Any) -> None:
    """Compute the word-piece vectors of the passages' sentences that the learned model's word
    alignment reads (`token_align.prefetch`): the generative answerer runs this while the
    language model writes, so checking the draft then embeds only the draft's sentences."""
    token_align.prefetch([u.text for p in passages for u in _units(p)], embedder)


def needs_tokens(analysis: Analysis, thresholds: Thresholds = DEFAULTS) -> bool:
    """Whether the learned model's verdict on `analysis` depends on the word alignment: no
    veto rejects it and its sentence score reaches the floor (`judge` rejects the others
    before the model is read, so their alignment, a model run per new text, is not measured)."""
    w = thresholds.embed_weight
    score = w * analysis.similarity + (1 - w) * analysis.lexical
    return analysis.measured and not veto(analysis) and score >= thresholds.floor


def measure_tokens(analysis: Analysis, claim: str, passage: str, embedder: Any = None) -> None:
    """Add the soft word alignment of `claim` with `passage` (rag/token_align.py) to its
    analysis, as `analyse(tokens=True)` measures it."""
    claim = claim_text(claim)
    embedder = embedder if embedder is not None else default_embedder()
    analysis.tokens = token_align.features(claim, [u.text for u in _units(passage)], embedder,
                                           _clauses(claim))


def supports(
    claim: str, passage: str, embedder: Any = None, threshold: float | None = None,
    thresholds: Thresholds = DEFAULTS,
) -> bool:
    """True when `passage` supports every clause of `claim` (see the module docstring)."""
    limit = thresholds.limit if threshold is None else threshold
    return support_score(claim, passage, embedder, thresholds).ok(limit)
