"""Citation checks: is a claim supported by the passage it cites?

Public API (the evaluation suite imports these for ALCE citation precision / recall):

- `supports(claim, passage, embedder=None) -> bool`: the yes/no decision used everywhere.
- `support_score(claim, passage, embedder=None) -> Support`: the score behind it, the reason a
  claim fails, and the span of the passage sentence that best supports it.
- `parse_answer(text) -> list[Claim]`: the sentences of an answer with the [n] numbers they carry.
- `verify(answer_text, passages, embedder=None) -> list[Checked]`: every sentence checked against
  the passage(s) it cites; unsupported citations re-attributed to a supporting passage or removed;
  repeated and near-duplicate sentences dropped (the first is kept).

How one claim is judged against one passage lives in rag/support.py (clauses, reversals, changed
numbers and names, novel content, then the learned model of rag/support_model.py or the hand-set
rules); the checks themselves in rag/claims.py, rag/reversal.py and rag/alignment.py. Local and
deterministic; `embedder=None` loads the bundled MiniLM. Sentence vectors come from
`rag.vector_cache.VECTORS`, so a passage sentence or claim already encoded is not encoded again,
and `verify` embeds, in one call, only the sentences whose verdict needs a cosine (not those a
veto rejects against every passage they may be scored on).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULTS", "SUPPORT_THRESHOLD", "VECTORS", "Analysis", "Checked", "Claim", "Support",
           "Thresholds", "analyse", "default_embedder", "judge", "parse_answer", "support_score",
           "supports", "verify"]

from rag import claims as rules
from rag import token_align
from rag.support import (
    DEFAULTS,
    SUPPORT_THRESHOLD,
    Analysis,
    Support,
    Thresholds,
    analyse,
    claim_text,
    copied_sentence,
    judge,
    needs_vector,
    support_score,
    supports,
)
from rag.text import addressed_to_model, content_terms, strip_citations, units
from rag.vector_cache import VECTORS, default_embedder

_MARKERS = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_LEADING_MARKERS = re.compile(r"^(?:\s*\[\d+(?:\s*,\s*\d+)*\])+")


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
    limit = thresholds.limit if threshold is None else threshold
    embedder = embedder if embedder is not None else (default_embedder() if passages else None)
    checked: list[Checked] = []
    todo: list[tuple[Checked, list[int]]] = []
    for claim in parse_answer(answer_text):
        first = next((c for c in checked
                      if rules.near_duplicate(c.text, claim.text, thresholds.duplicate)), None)
        if first is not None:
            first.repeats += 1
            continue
        valid = [n for n in claim.cited if 1 <= n <= len(passages)]
        result = Checked(claim.text, claim.cited, [], False, list_item=claim.list_item,
                         invalid=[n for n in claim.cited if n not in valid])
        checked.append(result)
        if addressed_to_model(claim.text):  # an injected line, repeated: never an answer
            result.reason = "addressed to the assistant"
            continue
        if not content_terms(claim.text) or not passages or rules.is_filler(claim.text):
            result.reason = "no passage" if not passages else "filler"
            continue
        todo.append((result, valid))
    if embedder is not None:  # one model call for the sentences whose verdict needs a cosine
        _encode_needed(todo, passages, embedder, thresholds, limit)
    for result, valid in todo:
        _attribute(result, valid, passages, embedder, limit, thresholds)
    return checked


def _encode_needed(todo: Sequence[tuple[Checked, list[int]]], passages: Sequence[str],
                   embedder: Any, thresholds: Thresholds, limit: float) -> None:
    """Embed, in one model call, the sentences `_attribute` will need their own vector for:
    not those a veto rejects against every passage it may score them on, nor those it scores
    only against passages they copy a sentence of (that sentence's vector stands for theirs).
    Such sentences cost no model input: the model is most of the checker's cost (~10 ms per
    sentence on two cores). Under the learned model the claims are run on the token graph
    instead, whose one run gives their sentence vectors, the word vectors its alignment reads
    and their clauses' vectors (`token_align.encode_claims`, `token_align.clause_vectors`);
    other embedders' claims and clauses are encoded."""
    tokens = thresholds.model == "learned" and hasattr(embedder, "token_states")
    texts: list[str] = []
    claims: list[str] = []
    for result, valid in todo:
        if thresholds.own_clause_vectors:  # clause vectors (the learned model): no copies
            cited = [passages[n - 1] for n in valid]
            scored = [*cited, *(["\n\n".join(cited)] if len(cited) > 1 else []), *passages]
            need = not valid or any(needs_vector(result.text, p) for p in scored)
        else:
            need = _needs_own_vector(result.text, valid, passages, embedder, thresholds, limit)
        if need:
            text = claim_text(result.text)
            claims.append(text)
            alone = thresholds.own_clause_vectors and not tokens
            texts += [text, *(rules.clauses(text) if alone else [])]
    if claims and tokens:  # the claims' sentence, word and clause vectors from one run
        token_align.encode_claims(list(dict.fromkeys(claims)), embedder)
    if texts:
        VECTORS.encode(list(dict.fromkeys(texts)), embedder)


def _needs_own_vector(text: str, valid: list[int], passages: Sequence[str], embedder: Any,
                      thresholds: Thresholds, limit: float) -> bool:
    """Whether `_attribute` embeds the sentence itself: it scores the sentence against its
    cited passages, then (none supporting it) against them together, then against every
    other passage; one citing none against every passage, measured in full."""
    def own(passage: str) -> bool:  # (the learned model embeds every claim: see the caller)
        return needs_vector(text, passage) and copied_sentence(text, passage) is None

    def holds(passage: str) -> bool:  # judged without the sentence's own vector
        return support_score(text, passage, embedder, thresholds).ok(limit)

    if not valid:
        return any(copied_sentence(text, p) is None for p in passages)
    cited = [passages[n - 1] for n in valid]
    if any(own(p) for p in cited):
        return True
    if any(holds(p) for p in cited):
        return False  # kept: no other passage is scored
    if len(valid) > 1:
        joint = "\n\n".join(cited)
        if own(joint):
            return True
        if holds(joint):
            return False
    return any(own(p) for n, p in enumerate(passages, 1) if n not in valid)


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
            (support_score(result.text, p, embedder, thresholds, lazy=False) for p in passages),
            key=lambda s: s.score)  # the reason of the best-scoring passage: every score
        result.reason = first.reason or "weak"
