"""Citation checks: is a claim supported by the passage it cites?

Public API (the evaluation suite imports these for ALCE citation precision / recall):

- `supports(claim, passage, embedder=None) -> bool`: the yes/no decision used everywhere.
- `support_score(claim, passage, embedder=None) -> Support`: the score behind it, the reason a
  claim fails, and the span of the passage sentence that best supports it.
- `parse_answer(text) -> list[Claim]`: the sentences of an answer with the [n] numbers they carry.
- `verify(answer_text, passages, embedder=None) -> list[Checked]`: every sentence checked against
  the passage(s) it cites; unsupported citations re-attributed to a supporting passage or removed;
  repeated and near-duplicate sentences dropped (the first is kept).

A sentence is split into claim-bearing clauses (`rag.claims.clauses`) and every clause must hold:
no reversal of its best-matching passage sentences (negation, antonym, swapped comparison), no
number or name the passage lacks, few content words the passage never uses, and a score of
w x best MiniLM cosine to one passage sentence + (1 - w) x share of its content words found in the
passage at or above the threshold. Filler ("It depends on the team.") is never a verified claim.
Local and deterministic; `embedder=None` loads the bundled MiniLM. The thresholds live in
`rag.settings.Settings` (support_*) and were calibrated on the human-labelled dev split of
evals/datasets/support.jsonl (`python -m evals.checker_eval --calibrate`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

__all__ = ["VECTORS", "Checked", "Claim", "Support", "Thresholds", "analyse", "default_embedder",
           "judge", "parse_answer", "support_score", "supports", "verify"]

from rag import claims as rules
from rag.settings import Settings
from rag.text import Unit, content_terms, overlap, plain, strip_citations, units
from rag.vector_cache import VECTORS, default_embedder

if TYPE_CHECKING:
    import numpy as np

_MARKERS = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_LEADING_MARKERS = re.compile(r"^(?:\s*\[\d+(?:\s*,\s*\d+)*\])+")


@dataclass(frozen=True)
class Thresholds:
    """The checker's knobs; defaults are the Settings field defaults (calibrated on dev)."""

    score: float
    embed_weight: float
    clause: float
    clause_terms: int
    drift_cover: float
    duplicate: float

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        """The thresholds a Settings object carries (environment overrides included)."""
        return cls(settings.support_threshold, settings.support_embed_weight,
                   settings.support_clause_threshold, settings.support_clause_terms,
                   settings.support_drift_cover, settings.support_duplicate)


DEFAULTS = Thresholds.from_settings(Settings.model_construct())
SUPPORT_THRESHOLD = DEFAULTS.score  # kept for callers that pass a bare threshold


@dataclass
class Support:
    """How well a passage supports a claim."""

    score: float  # sentence score: w x similarity + (1 - w) x lexical
    similarity: float  # best cosine similarity claim vs one passage sentence
    lexical: float  # fraction of the claim's content words present in the passage
    span: tuple[int, int] | None  # characters of the best-supporting passage sentence
    reason: str = ""  # why it fails: filler, negation, antonym, comparison, number, name, novel,
    # drift, weak; "" when every clause holds (then `ok` depends on the score threshold only)
    clause: str = ""  # the failing clause
    novel: list[str] = field(default_factory=list)  # content words the passage never uses

    def ok(self, threshold: float) -> bool:
        """Supported: no rule failed and the weakest clause reaches the threshold."""
        return self.reason in ("", "weak") and self.score >= threshold


@dataclass
class Claim:
    """One sentence (or list item) of an answer and the passage numbers it cites."""

    text: str  # without the [n] markers
    cited: list[int]
    list_item: bool = False


@dataclass
class Checked:
    """A claim after verification."""

    text: str
    cited: list[int]  # numbers the model wrote
    citations: list[int]  # numbers kept (supported), possibly re-attributed
    verified: bool
    reattributed: bool = False
    invalid: list[int] = field(default_factory=list)  # numbers matching no retrieved passage
    list_item: bool = False
    spans: dict[int, tuple[int, int]] = field(default_factory=dict)  # n -> span in passage n
    reason: str = ""  # why it is not verified (see Support.reason), "" when verified
    repeats: int = 0  # later copies / near-duplicates of this sentence that verify() dropped


@dataclass
class ClauseFacts:
    """What the checker measured for one clause against one passage (thresholds not applied)."""

    text: str
    similarity: float  # best MiniLM cosine to one passage sentence
    terms: int  # distinct content words
    novel: list[str]  # content words the passage never uses
    pairs: float  # share of adjacent word pairs never near each other in the passage
    rule: str  # a failed rule: negation, antonym, comparison, number, name; "" when none

    def cover(self) -> float:
        """Share of the clause's content words found in the passage."""
        return 1 - len(self.novel) / self.terms if self.terms else 0.0


@dataclass
class Analysis:
    """Every clause of a claim measured against a passage."""

    clauses: list[ClauseFacts]
    similarity: float
    lexical: float
    span: tuple[int, int] | None
    filler: bool


def analyse(claim: str, passage: str, embedder: Any = None) -> Analysis:
    """Measure each clause of `claim` against `passage` (the costly, threshold-free part)."""
    claim = plain(strip_citations(claim))
    parts = units(passage) or [Unit(passage.strip(), 0, len(passage), False, 0)]
    lexical = overlap(claim, passage)
    if rules.is_filler(claim):
        return Analysis([], 0.0, lexical, None, True)
    pieces = rules.clauses(claim)
    embedder = embedder if embedder is not None else default_embedder()
    texts = [claim, *(pieces if len(pieces) > 1 else []), *(u.text for u in parts)]
    matrix = VECTORS.encode(texts, embedder)
    units_matrix = matrix[len(texts) - len(parts):]
    sims = units_matrix @ matrix[0]
    best = int(sims.argmax())
    facts = [_clause(piece, passage, parts, units_matrix @ matrix[i + 1] if len(pieces) > 1
                     else sims, claim) for i, piece in enumerate(pieces)]
    return Analysis(facts, float(sims[best]), lexical, (parts[best].start, parts[best].end),
                    False)


def _clause(
    clause: str, passage: str, parts: Sequence[Unit], sims: np.ndarray, sentence: str
) -> ClauseFacts:
    found = set(rules.terms(clause))
    facts = ClauseFacts(clause, float(sims.max()), len(found),
                        rules.novel_terms(clause, passage), rules.novel_pairs(clause, passage), "")
    if rules.changed_number(clause, passage):
        facts.rule = "number"
    elif rules.changed_name(clause, passage):
        facts.rule = "name"
    else:
        facts.rule = _reversal(clause, sentence, passage, parts, sims)
    return facts


def _reversal(
    clause: str, sentence: str, passage: str, parts: Sequence[Unit], sims: np.ndarray
) -> str:
    """A reversal of a passage sentence the clause restates: one holding all its content words
    if there is one, else those it (or its whole sentence) resembles most, by meaning and by
    shared words."""
    found = set(rules.terms(clause))
    unit_terms = [set(rules.terms(u.text)) for u in parts]
    closest = {j for j, t in enumerate(unit_terms) if found and found <= t}
    if not closest:
        closest = {int(sims.argmax())}
        for text in (clause, sentence):
            words = set(rules.terms(text))
            shared = [len(words & t) for t in unit_terms]
            ranked = sorted(range(len(parts)), key=lambda j: (-shared[j], -float(sims[j])))
            closest.update(j for j in ranked[:2] if shared[j])
    flips = (rules.reversal(clause, parts[j].text, sentence, passage) for j in sorted(closest))
    return next((f for f in flips if f), "")


def judge(analysis: Analysis, limits: Thresholds = DEFAULTS) -> Support:
    """Apply the thresholds. A claim fails on a rule (reversal, changed number or name), on its
    sentence score (w x similarity + (1 - w) x word overlap), on a clause of at least
    `clause_terms` content words scoring below `clause`, or on drift: a clause copied from the
    passage beside a clause of three or more words mostly absent from it."""
    w = limits.embed_weight
    score = w * analysis.similarity + (1 - w) * analysis.lexical
    result = Support(score, analysis.similarity, analysis.lexical, analysis.span)
    if analysis.filler:
        result.score, result.reason = 0.0, "filler"
        return result
    copied = any(c.cover() >= 0.9 for c in analysis.clauses)
    for facts in analysis.clauses:
        reason = facts.rule
        clause_score = w * facts.similarity + (1 - w) * facts.cover()
        if not reason and facts.terms >= limits.clause_terms and clause_score < limits.clause:
            reason = "novel"
        elif not reason and copied and facts.terms >= 3 and facts.cover() <= limits.drift_cover:
            reason = "drift"
        if reason:
            result.reason, result.clause, result.novel = reason, facts.text, facts.novel
            return result
    if score < limits.score:
        result.reason = "weak"
    return result


def support_score(
    claim: str, passage: str, embedder: Any = None, thresholds: Thresholds = DEFAULTS
) -> Support:
    """Support of `claim` by `passage`, clause by clause (the weakest clause decides)."""
    return judge(analyse(claim, passage, embedder), thresholds)


def supports(
    claim: str, passage: str, embedder: Any = None, threshold: float | None = None,
    thresholds: Thresholds = DEFAULTS,
) -> bool:
    """True when `passage` supports every clause of `claim` (see the module docstring)."""
    limit = thresholds.score if threshold is None else threshold
    return support_score(claim, passage, embedder, thresholds).ok(limit)


def parse_answer(text: str) -> list[Claim]:
    """Sentences and list items of an answer with their [n] numbers (markers after a full stop
    belong to the sentence before them; every line is split on its own)."""
    claims: list[Claim] = []
    lines = (line for line in text.splitlines() if line.strip())  # a model's lines are units
    for unit in (u for line in lines for u in units(line)):
        body = unit.text
        lead = _LEADING_MARKERS.match(body)
        if lead and claims:
            claims[-1].cited.extend(_numbers(lead.group(0)))
            body = body[lead.end():]
        cited = _numbers(body)
        body = strip_citations(body)
        if body and re.search(r"\w", body):
            claims.append(Claim(body, cited, unit.list_item))
    for claim in claims:
        claim.cited = list(dict.fromkeys(claim.cited))
    return claims


def _numbers(text: str) -> list[int]:
    return [int(n) for group in _MARKERS.findall(text) for n in re.split(r"\s*,\s*", group)]


def verify(
    answer_text: str, passages: Sequence[str], embedder: Any = None,
    threshold: float | None = None, thresholds: Thresholds = DEFAULTS,
) -> list[Checked]:
    """Check every sentence of an answer against the passages (passage i is cited as [i+1]).

    Repeats and near-duplicates of an earlier sentence are dropped (the first one's `repeats`
    counts them); filler is returned unverified; an unsupported citation moves to the passage
    that supports the sentence, if any.
    """
    limit = thresholds.score if threshold is None else threshold
    embedder = embedder if embedder is not None else (default_embedder() if passages else None)
    checked: list[Checked] = []
    claims = parse_answer(answer_text)
    if embedder is not None:  # one model call for every sentence and clause of the answer
        texts = [plain(c.text) for c in claims if not rules.is_filler(plain(c.text))]
        VECTORS.encode(list(dict.fromkeys(
            t for text in texts for t in [text, *rules.clauses(text)])), embedder)
    for claim in claims:
        first = next((c for c in checked
                      if rules.near_duplicate(c.text, claim.text, thresholds.duplicate)), None)
        if first is not None:
            first.repeats += 1
            continue
        valid = [n for n in claim.cited if 1 <= n <= len(passages)]
        result = Checked(claim.text, claim.cited, [], False, list_item=claim.list_item,
                         invalid=[n for n in claim.cited if n not in valid])
        checked.append(result)
        if not content_terms(claim.text) or not passages or rules.is_filler(claim.text):
            result.reason = "no passage" if not passages else "filler"
            continue
        _attribute(result, valid, passages, embedder, limit, thresholds)
    return checked


def _attribute(
    result: Checked, valid: list[int], passages: Sequence[str], embedder: Any,
    limit: float, thresholds: Thresholds,
) -> None:
    """Keep the cited passages that support the claim, else the best one that does."""
    scores: dict[int, Support] = {}

    def score(n: int) -> Support:
        if n not in scores:
            scores[n] = support_score(result.text, passages[n - 1], embedder, thresholds)
        return scores[n]

    kept = [n for n in valid if score(n).ok(limit)]
    if not kept and len(valid) > 1:  # the cited passages together (ALCE's joint support)
        joint = support_score(result.text, "\n\n".join(passages[n - 1] for n in valid),
                              embedder, thresholds)
        kept = valid if joint.ok(limit) else []
    if not kept:
        others = [n for n in range(1, len(passages) + 1) if n not in valid]
        good = [n for n in others if score(n).ok(limit)]
        if good:
            kept, result.reattributed = [max(good, key=lambda n: score(n).score)], True
    result.citations = kept
    result.verified = bool(kept)
    result.spans = {n: s for n in kept if (s := score(n).span) is not None}
    if not kept:
        first = score(valid[0]) if valid else max(
            (score(n) for n in range(1, len(passages) + 1)), key=lambda s: s.score)
        result.reason = first.reason or "weak"
