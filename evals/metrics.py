"""Evaluation metrics: pure functions over ranked ids, answers and passages (no LLM judge).

Retrieval metrics take a ranked list of document ids (best first, duplicates ignored) and the
relevant ids (a set, or a mapping id -> graded relevance). Answer metrics follow ALCE
(Gao et al., 2023): a sentence is supported when the concatenation of the passages it cites
supports it; a citation is precise unless it adds nothing the other citations do not already give.
The support test is a parameter, so the project's own checker is what gets measured.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

SupportFn = Callable[[str, str], bool]  # (claim, passage text) -> does the passage support it?
Relevant = Mapping[str, float] | set[str] | frozenset[str]


def _grades(relevant: Relevant) -> dict[str, float]:
    if isinstance(relevant, Mapping):
        return {k: float(v) for k, v in relevant.items() if v > 0}
    return dict.fromkeys(relevant, 1.0)


def dedupe(ranked: Iterable[str]) -> list[str]:
    """Ids in first-seen order, each once."""
    return list(dict.fromkeys(ranked))


def hit_at(ranked: Sequence[str], relevant: Relevant, k: int) -> float:
    """1.0 when a relevant id is among the first k, else 0.0."""
    grades = _grades(relevant)
    return float(any(doc in grades for doc in dedupe(ranked)[:k]))


def reciprocal_rank(ranked: Sequence[str], relevant: Relevant, k: int = 10) -> float:
    """1 / rank of the first relevant id within the first k (0.0 when none)."""
    grades = _grades(relevant)
    for rank, doc in enumerate(dedupe(ranked)[:k], start=1):
        if doc in grades:
            return 1.0 / rank
    return 0.0


def ndcg_at(ranked: Sequence[str], relevant: Relevant, k: int = 10) -> float:
    """nDCG@k with linear gains (trec_eval / BEIR convention): sum rel_i / log2(i + 1)."""
    grades = _grades(relevant)
    if not grades:
        return 0.0
    dcg = sum(
        grades.get(doc, 0.0) / math.log2(rank + 1)
        for rank, doc in enumerate(dedupe(ranked)[:k], start=1)
    )
    ideal = sorted(grades.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(rank + 1) for rank, g in enumerate(ideal, start=1))
    return dcg / idcg


def recall_at(ranked: Sequence[str], relevant: Relevant, k: int) -> float:
    """Share of the relevant ids found among the first k."""
    grades = _grades(relevant)
    if not grades:
        return 0.0
    return len(set(dedupe(ranked)[:k]) & grades.keys()) / len(grades)


def retrieval_scores(ranked: Sequence[str], relevant: Relevant) -> dict[str, float]:
    """The standard set for one question: hit@1/3/5, MRR@10, nDCG@10, recall@5/10/100."""
    return {
        "hit@1": hit_at(ranked, relevant, 1),
        "hit@3": hit_at(ranked, relevant, 3),
        "hit@5": hit_at(ranked, relevant, 5),
        "mrr@10": reciprocal_rank(ranked, relevant, 10),
        "ndcg@10": ndcg_at(ranked, relevant, 10),
        "recall@5": recall_at(ranked, relevant, 5),
        "recall@10": recall_at(ranked, relevant, 10),
        "recall@100": recall_at(ranked, relevant, 100),
    }


# --- answers ---------------------------------------------------------------------------------

_CURLY = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
_MARKER = re.compile(r"\[(\d+)\]")


def normalize(text: str) -> str:
    """Lowercase, curly quotes folded, whitespace collapsed (for quote matching)."""
    return re.sub(r"\s+", " ", text.translate(_CURLY).lower()).strip()


def contains_quote(passages: Iterable[str], quotes: Sequence[str]) -> bool:
    """True when some passage contains one of the gold quotes."""
    wanted = [normalize(q) for q in quotes]
    return any(q in normalize(p) for p in passages for q in wanted)


@dataclass
class Claim:
    """One answer sentence and the citation numbers it carries."""

    text: str
    citations: list[int]


def markers(text: str) -> list[int]:
    """The citation numbers written as [n] in a text, in order."""
    return [int(m) for m in _MARKER.findall(text)]


def citation_validity(claims: Sequence[Claim], numbers: Iterable[int]) -> float | None:
    """Share of citation markers that point at a passage actually shown (None: no markers)."""
    shown = set(numbers)
    cited = [n for claim in claims for n in claim.citations]
    if not cited:
        return None
    return sum(n in shown for n in cited) / len(cited)


def citation_recall_precision(
    claims: Sequence[Claim], passages: Mapping[int, str], supports: SupportFn
) -> tuple[float | None, float | None]:
    """ALCE citation recall (supported sentences) and precision (necessary citations)."""
    if not claims:
        return None, None
    supported = precise = total = 0
    for claim in claims:
        cited = [n for n in dict.fromkeys(claim.citations) if n in passages]
        total += len(dict.fromkeys(claim.citations))
        joint = bool(cited) and supports(claim.text, _join(passages, cited))
        supported += joint
        if not joint:
            continue
        if len(cited) == 1:
            precise += 1
            continue
        for n in cited:
            alone = supports(claim.text, passages[n])
            rest = [m for m in cited if m != n]
            if alone or not supports(claim.text, _join(passages, rest)):
                precise += 1
    return supported / len(claims), (precise / total if total else None)


def _join(passages: Mapping[int, str], numbers: Sequence[int]) -> str:
    return "\n\n".join(passages[n] for n in numbers)


def key_point_recall(answer: str, key_points: Sequence[str], threshold: float = 0.6) -> float:
    """Share of key points whose content words (stemmed) mostly appear in the answer."""
    from rag.index.bm25 import tokenize

    if not key_points:
        return 1.0
    words = set(tokenize(answer))
    covered = 0
    for point in key_points:
        terms = set(tokenize(point))
        if terms and len(terms & words) / len(terms) >= threshold:
            covered += 1
    return covered / len(key_points)


def refusal_scores(gold: Sequence[bool], refused: Sequence[bool]) -> dict[str, float | None]:
    """Refusal precision and recall (refusal = positive class) and the false-refusal rate."""
    pairs = list(zip(gold, refused, strict=True))
    tp = sum(g and r for g, r in pairs)
    predicted = sum(r for _, r in pairs)
    should = sum(g for g, _ in pairs)
    in_scope = len(pairs) - should
    false_refusals = sum(r and not g for g, r in pairs)
    return {
        "refusal_precision": tp / predicted if predicted else None,
        "refusal_recall": tp / should if should else None,
        "false_refusal_rate": false_refusals / in_scope if in_scope else None,
    }


def refusal_by_topic(topics: Sequence[str], refused: Sequence[bool]) -> dict[str, float | None]:
    """Over the questions that should be refused: the share refused (`off_topic_refusal_rate`)
    and the share of the near misses refused (`near_miss_refusal_rate`: workplace questions the
    corpus does not answer, topic "near-miss")."""
    pairs = list(zip(topics, refused, strict=True))
    near = [r for t, r in pairs if t == "near-miss"]
    return {
        "off_topic_refusal_rate": sum(r for _, r in pairs) / len(pairs) if pairs else None,
        "near_miss_refusal_rate": sum(near) / len(near) if near else None,
    }


def roc_curve(scores: Sequence[float], positive: Sequence[bool]
              ) -> tuple[list[float], list[float], float | None]:
    """(false-positive rates, true-positive rates, AUC) of "positive when score >= t" over
    every threshold t; AUC None unless both classes occur."""
    pairs = sorted(zip(scores, positive, strict=True), key=lambda p: -p[0])
    pos = sum(p for _, p in pairs)
    neg = len(pairs) - pos
    fpr, tpr = [0.0], [0.0]
    tp = fp = 0
    for i, (score, label) in enumerate(pairs):
        tp, fp = tp + label, fp + (not label)
        if i + 1 == len(pairs) or pairs[i + 1][0] != score:  # ties form one step
            fpr.append(fp / neg if neg else 0.0)
            tpr.append(tp / pos if pos else 0.0)
    if not pos or not neg:
        return fpr, tpr, None
    area = sum((fpr[i] - fpr[i - 1]) * (tpr[i] + tpr[i - 1]) / 2 for i in range(1, len(fpr)))
    return fpr, tpr, area


def pr_curve(scores: Sequence[float], positive: Sequence[bool]
             ) -> tuple[list[float], list[float], float | None]:
    """(recalls, precisions, average precision) of "positive when score >= t"."""
    pairs = sorted(zip(scores, positive, strict=True), key=lambda p: -p[0])
    pos = sum(p for _, p in pairs)
    recall: list[float] = []
    precision: list[float] = []
    tp = ap = 0.0
    for i, (score, label) in enumerate(pairs):
        tp += label
        if i + 1 == len(pairs) or pairs[i + 1][0] != score:
            r, p = (tp / pos if pos else 0.0), tp / (i + 1)
            ap += (r - (recall[-1] if recall else 0.0)) * p
            recall.append(r)
            precision.append(p)
    return recall, precision, (ap if pos else None)


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0-100) with linear interpolation between closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * p / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not None (None when there are none)."""
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None
