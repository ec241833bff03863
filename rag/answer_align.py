"""Soft token alignment of a question with retrieved passages: answerability evidence that
was measured for the refusal model and not chosen (rag/answerability.py `align_min`,
`align_mean`; BENCHMARKS.md, 2026-12-02, round 7), kept for the calibration's searches.

Each content word of the question (or of one of its `ask_parts`) takes its best contextual
MiniLM cosine to any word piece of the passages' sentences (`token_align.word_scores`);
`align_min` is the lowest word's, `align_mean` the BM25-IDF-weighted mean, each the best over
the question and its parts. Embedders without per-token vectors (torch, hashed) get
ALIGN_NEUTRAL, the middle of the scale (not tuned).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rag import answer_slot
from rag.retrieve import Passage

ALIGN = ("align_min", "align_mean")
ALIGN_NEUTRAL = 0.5  # an alignment feature's value when the embedder has no token vectors


def alignment(question: str, passages: Sequence[Passage], bm25: Any, embedder: Any
              ) -> dict[str, float]:
    """`align_min` and `align_mean` of the question against the passages' sentences,
    each the best over the question and its `ask_parts` (0 when no word aligns)."""
    from rag import token_align
    from rag.text import units

    sentences = [u.text for p in passages for u in units(p.text)]
    best = dict.fromkeys(ALIGN, 0.0)
    for asked in (question, *answer_slot.ask_parts(question)):
        found = token_align.word_scores(asked, sentences, embedder)
        if found is None:
            return dict.fromkeys(ALIGN, ALIGN_NEUTRAL)
        for name, value in _align_stats(*found, bm25).items():
            best[name] = max(best[name], value)
    return best


def _align_stats(words: Sequence[str], scores: Any, bm25: Any) -> dict[str, float]:
    """Minimum and IDF-weighted mean of the words' alignment scores (the words BM25 drops as
    stop words weigh 0 and are not the minimum)."""
    from rag.index.bm25 import tokenize

    idf = [max((bm25.idf(t) for t in tokenize(w, bm25.stemmer)), default=0.0) for w in words]
    kept = [(w, float(s)) for w, s in zip(idf, scores, strict=True) if w > 0]
    if not kept:
        return dict.fromkeys(ALIGN, 0.0)
    total = sum(w for w, _ in kept)
    return {"align_min": min(s for _, s in kept),
            "align_mean": sum(w * s for w, s in kept) / total}
