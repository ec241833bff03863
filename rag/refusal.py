"""Should we answer at all? Relevance of the retrieved passages, off-scope requests, injections.

A question is refused when its best passage is not relevant enough, when it asks for something a
playbook cannot give (a poem, a joke, an email), or when it is only an attempt to override our
instructions. A prompt-injection attempt that also asks a real playbook question is answered from
the playbook, by the extractive answerer only (see `injection`).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer import Answer, Citation
from rag.retrieve import Passage, retrieve_passages
from rag.settings import Settings
from rag.text import content_terms

# Relevance of a question = the higher of the best passage's cosine and the best cosine of one
# sentence of the top 3 passages. Absolute values depend on the corpus (a broad playbook matches
# anything a little), so relevance is divided by the median relevance of PROBES, everyday
# questions no playbook covers, measured once per index generation. Refuse below RELEVANCE_RATIO.
# Chosen on the cwe-playbook dev split (50 in scope, 6 off-topic; `python -m
# benchmarks.calibrate_answers --index <cwe index>`): probe median 0.237; in-scope ratio min 2.08,
# off-topic max 1.80 (an HR question; the injection and the limerick are also caught by
# patterns) -> midpoint 1.94. An absolute cosine threshold could not work for both corpora:
# cwe needs > 0.43, the one-article bundled playbook has in-scope questions at 0.28.
RELEVANCE_RATIO = 1.94
PROBE_TOP = 3
PROBES = (
    "What is the tallest mountain in Africa?", "How long should I boil an egg?",
    "Who painted the Mona Lisa?", "What is the best way to learn to play guitar?",
    "How do I fix a flat bicycle tyre?", "What causes the northern lights?",
    "Which team won the last basketball championship?", "How much caffeine is in a cup of tea?",
    "What is a good name for a pet hamster?", "How do I get a refund for a cancelled flight?",
    "What are the symptoms of the flu?", "How do I change the oil in my car?",
    "What is the population of Canada?", "How do I plant roses in my garden?",
    "What should I pack for a ski holiday?", "What is the plot of Hamlet?",
)

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
    relevance: float


def injection(question: str) -> bool:
    """True when the question tries to override instructions or extract the system prompt."""
    return bool(_INJECTION.search(question))


def without_injection(question: str) -> str:
    """The question with sentences that try to override instructions removed."""
    parts = re.split(r"(?<=[.?!:;])\s+", question)
    return " ".join(p for p in parts if not injection(p)).strip()


def decide(question: str, passages: Sequence[Passage], settings: Settings) -> Decision:
    """Refuse off-scope requests, bare injections and questions the passages do not match."""
    relevance = question_relevance(question, passages, settings) / null_relevance(settings)
    threshold = settings.refusal_threshold
    threshold = RELEVANCE_RATIO if threshold is None else threshold
    if _CREATIVE.search(question):
        return Decision(True, "a writing request, not a playbook question", relevance)
    if injection(question) and not content_terms(without_injection(question)):
        return Decision(True, "an attempt to override instructions", relevance)
    if not passages:
        return Decision(True, "nothing retrieved", relevance)
    if relevance < threshold:
        return Decision(True, f"relevance ratio {relevance:.2f} < {threshold:.2f}",
                        relevance)
    return Decision(False, "relevant passages found", relevance)


def question_relevance(question: str, passages: Sequence[Passage], settings: Settings) -> float:
    """Best cosine of the question to a passage or to one sentence of the top passages."""
    from rag.answerers.extractive import candidates
    from rag.citations import VECTORS
    from rag.embedder import make_embedder

    best = max((p.score for p in passages), default=0.0)
    found = candidates(passages[:PROBE_TOP])
    if not found:
        return best
    matrix = VECTORS.encode([question, *(c.unit.text for c in found)], make_embedder(settings))
    return max(best, float((matrix[1:] @ matrix[0]).max()))


_null: dict[tuple[str, str], float] = {}


def null_relevance(settings: Settings) -> float:
    """Median relevance of the off-topic PROBES on the live index (cached per generation)."""
    import statistics

    from rag.index import load_index

    reader = load_index(settings)
    key = (reader.store.key, reader.generation)  # the index (folder or server) and generation
    if key not in _null:
        cache = settings.index_path / "cache" / f"refusal-{key[1]}.json"
        try:
            _null[key] = float(json.loads(cache.read_text())["median"])
        except (OSError, ValueError, KeyError, TypeError):
            values = [question_relevance(q, retrieve_passages(q, settings), settings)
                      for q in PROBES]
            _null[key] = max(statistics.median(values), 0.05)
            with contextlib.suppress(OSError):
                cache.parent.mkdir(exist_ok=True)
                cache.write_text(json.dumps({"median": _null[key], "values": values}))
    return _null[key]


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
