"""Should we answer at all? Relevance of the retrieved passages, off-scope requests, injections.

A question is refused when the retrieved passages do not answer it (a low answerability score,
see rag/answerability.py for the evidence), when it asks for something a
playbook cannot give (a poem, a joke, an email), or when it is only an attempt to override our
instructions. A prompt-injection attempt that also asks a real playbook question is answered from
the playbook, by the extractive answerer only (see `injection`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer import Answer, Citation
from rag.answerability import Evidence, evidence
from rag.retrieve import Passage
from rag.settings import Settings
from rag.text import content_terms

# Answerability = logistic(INTERCEPT + sum of WEIGHTS[f] * feature f) over the evidence of
# rag/answerability.py; refuse below REFUSAL_THRESHOLD. No probe questions, no per-index cache:
# the features mean the same on every corpus. Fitted ONCE on the dev splits of every dev corpus
# together and frozen here; `python -m evals.calibrate_refusal` prints the fit, the per-corpus
# dev and (report-only) test figures and the threshold. FIT-FIGURES-PLACEHOLDER
WEIGHTS = {"passage_cos": 0.0, "sentence_cos": 0.0, "lexical": 0.0, "agreement": 0.0,
           "margin": 0.0}
INTERCEPT = 0.0
REFUSAL_THRESHOLD = 0.5

_INJECTION = re.compile(
    r"\b(ignore|disregard|forget|override)\b[^.?!]{0,40}\b(instructions?|rules|prompts?|"
    r"guidelines|above|previous|prior)\b|system\s+(prompt|override|message)|"
    r"\byou are (now|no longer)\b|\bjailbreak|\bdeveloper mode\b|\bpretend (to be|you are)\b|"
    r"\b(reveal|print|show|repeat|output)\b[^.?!]{0,30}\b(prompt|instructions|text above)\b",
    re.I,
)
_CREATIVE = re.compile(
    r"^\s*(please\s+)?(write|compose|draft|generate|create|make up|tell)\b[^.?!]{0,40}"
    r"\b(poem|limerick|haiku|song|lyrics|story|joke|essay|novel|rap|sonnet|birthday|"
    r"letter|email|tweet|speech|message)\b|^\s*(please\s+)?translate\b",
    re.I,
)


@dataclass
class Decision:
    """Whether to refuse, and why (shown to developers; users see `refusal_answer`)."""

    refuse: bool
    reason: str
    relevance: float  # the answerability score (0..1)
    evidence: Evidence | None = None


def injection(question: str) -> bool:
    """True when the question tries to override instructions or extract the system prompt."""
    return bool(_INJECTION.search(question))


def without_injection(question: str) -> str:
    """The question with sentences that try to override instructions removed."""
    parts = re.split(r"(?<=[.?!:;])\s+", question)
    return " ".join(p for p in parts if not injection(p)).strip()


def rule(question: str) -> str | None:
    """The reason a question is refused whatever was retrieved (a writing request, a bare
    injection), or None."""
    if _CREATIVE.search(question):
        return "a writing request, not a playbook question"
    if injection(question) and not content_terms(without_injection(question)):
        return "an attempt to override instructions"
    return None


def score(features: Evidence) -> float:
    """The frozen answerability model: logistic(INTERCEPT + WEIGHTS . features), in 0..1."""
    values = features.as_dict()
    z = INTERCEPT + sum(w * values[name] for name, w in WEIGHTS.items())
    return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


def question_evidence(question: str, passages: Sequence[Passage], settings: Settings
                      ) -> Evidence:
    """The answerability features of the question on the live index."""
    from rag.embedder import make_embedder
    from rag.index import load_index

    if not passages:
        return Evidence()
    return evidence(question, passages, load_index(settings).bm25, make_embedder(settings))


def decide(question: str, passages: Sequence[Passage], settings: Settings) -> Decision:
    """Refuse off-scope requests, bare injections and questions the passages do not answer."""
    reason = rule(question)
    if reason is not None:
        return Decision(True, reason, 0.0)
    if not passages:
        return Decision(True, "nothing retrieved", 0.0)
    features = question_evidence(question, passages, settings)
    value = score(features)
    threshold = settings.refusal_threshold
    threshold = REFUSAL_THRESHOLD if threshold is None else threshold
    if value < threshold:
        return Decision(True, f"answerability {value:.2f} < {threshold:.2f}", value, features)
    return Decision(False, "relevant passages found", value, features)


def refusal_answer(question: str, passages: Sequence[Passage], answerer: str) -> Answer:
    """The refusal: the playbook does not cover this; here are the nearest articles to look at."""
    nearest: dict[str, Passage] = {}
    for passage in passages:
        nearest.setdefault(passage.first.article_id, passage)
    names = [f"“{p.first.title}” ({p.first.source})" for p in list(nearest.values())[:3]]
    text = "The playbook does not cover this."
    if names:
        text += " The nearest articles are " + _join(names) + "."
    citations = [Citation.from_passage(i + 1, p) for i, p in enumerate(passages)]
    return Answer(question, text, True, answerer, citations, {})


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
