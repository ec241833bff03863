"""The decision half of the citation checker: from a claim's measured `Analysis` to a verdict.

`rag.support.analyse` measures (clauses, cosines, vetoes, word alignment); this module decides:
a veto rejects outright (`veto`), then the learned model over `features` with the rules' sentence
score as a floor, or the hand-set rules (`judge`, `Thresholds.model`). Pure functions of the
analysis and the thresholds: no model call here.
"""

from __future__ import annotations

from rag import support_model as model
from rag.support_types import DEFAULTS, Analysis, ClauseFacts, Support, Thresholds

__all__ = ["features", "judge", "veto"]


def features(analysis: Analysis) -> dict[str, float]:
    """The learned model's inputs (rag/support_model.py) from an analysis."""
    w = model.EMBED_WEIGHT
    clauses = analysis.clauses
    big = [c for c in clauses if c.terms >= 2] or clauses
    copied = any(c.cover() >= 0.9 for c in clauses)
    tails = [c.cover() for c in clauses if c.terms >= 3] if copied else []
    return {
        "score": w * analysis.similarity + (1 - w) * analysis.lexical,
        "sim": analysis.similarity, "lex": analysis.lexical,
        "min_cscore": min((w * c.similarity + (1 - w) * c.cover() for c in big), default=0.0),
        "min_csim": min((c.similarity for c in big), default=0.0),
        "drift_min": min(tails, default=1.0),
        "max_novel": float(max((len(c.novel) for c in clauses), default=0)),
        "novel_total": float(analysis.novel), "pairs": analysis.pairs,
        "copied": analysis.diff.copied, "subs": float(analysis.diff.substituted),
        **analysis.tokens,
    }


def veto(analysis: Analysis) -> str:
    """The rule that rejects the claim whatever its score (filler, a clause's reversal or
    changed fact, then the sentence's), or ""."""
    if analysis.filler:
        return "filler"
    return next((c.rule for c in analysis.clauses if c.rule), analysis.rule)


def judge(analysis: Analysis, limits: Thresholds = DEFAULTS) -> Support:
    """Apply the vetoes, then accept a word-for-word copy of the passage, then the learned
    model (with its floor on the sentence score) or the rules (`limits.model`). `score` is
    P(supported) under the learned model (0 below the floor, 1 for a copy), the sentence score
    under the rules; `reason` says why a claim fails (filler, a rule, novel, drift, weak)."""
    w = limits.embed_weight
    score = w * analysis.similarity + (1 - w) * analysis.lexical
    result = Support(score, analysis.similarity, analysis.lexical, analysis.span)
    if analysis.filler:
        result.score, result.reason, result.vetoed = 0.0, "filler", True
        return result
    rule = next((c for c in analysis.clauses if c.rule), None)
    if rule is not None or analysis.rule:
        result.reason = veto(analysis)
        result.clause, result.novel = (rule.text, rule.novel) if rule else ("", [])
        result.vetoed = True
        return result
    if analysis.copy:  # a word-for-word run of the passage: no score makes it less supported
        result.score = 1.0 if limits.model == "learned" else max(score, limits.score)
        return result
    failing = _rules_failure(analysis, limits)
    if limits.model == "learned" and score < limits.floor:
        result.score, result.vetoed = 0.0, True  # below the floor: no P makes it supported
        _explain(result, failing, analysis)
    elif limits.model == "learned":
        result.score = model.probability(features(analysis))
        if result.score < limits.learned:
            _explain(result, failing, analysis)
    elif failing is not None:
        _explain(result, failing, analysis)
        result.vetoed = True
    elif score < limits.score:
        result.reason = "weak"
    return result


def _rules_failure(analysis: Analysis, limits: Thresholds) -> tuple[str, ClauseFacts] | None:
    """The hand-set clause rules: a clause of `clause_terms`+ content words scoring below
    `clause` ("novel"), or beside a copied clause, one of 3+ words mostly absent ("drift")."""
    w = limits.embed_weight
    copied = any(c.cover() >= 0.9 for c in analysis.clauses)
    for facts in analysis.clauses:
        if facts.terms >= limits.clause_terms and \
                w * facts.similarity + (1 - w) * facts.cover() < limits.clause:
            return "novel", facts
        if copied and facts.terms >= 3 and facts.cover() <= limits.drift_cover:
            return "drift", facts
    return None


def _explain(result: Support, failing: tuple[str, ClauseFacts] | None,
             analysis: Analysis) -> None:
    """Why an unsupported claim fails: the clause rule it breaks, else its least covered
    clause ("novel" when it has words the passage lacks), else "weak"."""
    if failing is not None:
        result.reason, facts = failing
    else:
        facts = min(analysis.clauses, key=ClauseFacts.cover)
        result.reason = "novel" if facts.novel else "weak"
    result.clause, result.novel = facts.text, facts.novel
