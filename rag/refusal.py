"""Should we answer at all? Relevance of the retrieved passages, off-scope requests, injections.

A question is refused when the retrieved passages do not answer it (a low answerability score,
see rag/answerability.py for the evidence), when it asks for something a
playbook cannot give (a poem, a joke, an email), or when it is only an attempt to override our
instructions. A prompt-injection attempt that also asks a real playbook question is answered from
the playbook, by the extractive answerer only (see `injection`).
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from rag.answer import Answer, Citation
from rag.answerability import Evidence, evidence
from rag.retrieve import Passage, retrieve_passages
from rag.settings import Settings
from rag.text import content_terms

# Answerability = logistic(INTERCEPT + sum of WEIGHTS[f] * feature f) over the evidence of
# rag/answerability.py and rag/answer_slot.py; refuse below REFUSAL_THRESHOLD. Fitted ONCE on
# the dev splits of every dev corpus together (playbook 32 in-scope + 14 off-topic, cwe-dev
# 66 + 50, 18f-dev 99 + 55, npm-dev 45 + 22; class-balanced logistic regression) on passages
# retrieved with convex fusion (the default); threshold = the highest at which no dev corpus
# falsely refuses more than 5 %, computed with the weights as rounded below and floored to 4
# decimals, then frozen:   python -m evals.calibrate_refusal --search --size 5
# (2026-12-02, round 11: npm's documentation joined as the fourth dev corpus, the product-docs
# kind; `answer_type` reads a default listed beside its option and ignores "how *many*").
# Features: `--search` ranks every subset of up to five features by leave-one-corpus-out
# transfer and skips sets with a negative weight, with probe_ratio (it inflates on a tiny
# index), or whose fit decides a bundled-playbook question or a fixture-playbook test question
# wrong (evals/refusal_fixture.py). The same five features as rounds 6-8 rank first again
# (transfer 0.826 over four corpora; next {agreement, typed_cos, ask_coverage, names_together}
# 0.784). Before the `answer_type` change the round-8 model, never fitted on npm, falsely
# refused 8.9 % of npm-dev (13.3 % of npm-test) and the five-feature refit failed the fixture
# check. Dev now: false refusals playbook 0 %, cwe 3.0 %, 18f 4.0 %, npm 4.4 %; off-topic
# refused 100 %, 88.0 %, 76.4 %, 86.4 %; near misses cwe 86.4 %, 18f 72.3 %, npm 78.6 %.
# Held out (fitted on the other three dev corpora): false refusals 3.1 / 3.0 / 4.0 / 4.4 %.
# Earlier rounds: phrase_coverage (round 6) got a negative weight; the soft token alignment
# (`align_min`, `align_mean`, round 7) ranks below this set and costs ~0.15-0.5 s per cold ask;
# gradient-boosted trees (round 10) transfer worse (BENCHMARKS.md).
# Why 5 % and not 2 %: the hardest paraphrases (vocabulary lost at retrieval: "PTO" never
# meets "annual leave") would set the threshold alone. Test figures (report only, never tuned
# on): README "Refusal". The targets (<= 3 % false, >= 95 % off-topic, >= 85 % near
# misses on test) are NOT met.
WEIGHTS = {"answer_type": 2.981, "agreement": 1.445, "typed_cos": 9.775, "ask_coverage": 3.251,
           "names_together": 3.614}
INTERCEPT = -12.380
REFUSAL_THRESHOLD = Settings.model_fields["refusal_threshold"].default  # 0.2906, owned by Settings
# Everyday questions no playbook is about: their median relevance on an index is the background
# `probe_ratio` divides by (computed once per index generation, cached beside it).
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
PROBE_FLOOR = 0.05  # a background below this (an empty or tiny index) is taken as this

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


def question_evidence(question: str, passages: Sequence[Passage], settings: Settings,
                      wanted: Collection[str] | None = None) -> Evidence:
    """The answerability features named in `wanted` (None: all, as the calibration needs) of
    the question on the live index. `probe_ratio` costs 16 probe questions once per index
    generation; `decide` asks only for what WEIGHTS use."""
    probes = wanted is None or "probe_ratio" in wanted
    own = None if wanted is None else {*wanted, *(_RELEVANCE if probes else ())}
    features = _base_evidence(question, passages, settings, own)
    if not probes:
        return features
    return replace(features, probe_ratio=features.relevance / background(settings))


_RELEVANCE = ("passage_cos", "sentence_cos")  # what `Evidence.relevance` reads


def _base_evidence(question: str, passages: Sequence[Passage], settings: Settings,
                   wanted: Collection[str] | None) -> Evidence:
    from rag.embedder import make_embedder
    from rag.index import load_index

    if not passages:
        return Evidence()
    return evidence(question, passages, load_index(settings).bm25, make_embedder(settings),
                    wanted)


_background: dict[tuple[str, str], float] = {}


def background(settings: Settings) -> float:
    """Median relevance of PROBES on the live index: in memory and on disk per generation. A
    cache file that is unreadable, of another format or holds a value below PROBE_FLOOR (an
    older version wrote {"median": 0}) is ignored and rewritten."""
    import statistics

    from rag.index import load_index

    reader = load_index(settings)
    key = (reader.store.key, reader.generation)  # the index (folder or server) and generation
    if key not in _background:
        cache = settings.index_path / "cache" / f"answerability-{key[1]}.json"
        value = _cached(cache)
        if value is None:
            values = [_base_evidence(q, retrieve_passages(q, settings), settings,
                                     _RELEVANCE).relevance for q in PROBES]
            value = max(statistics.median(values), PROBE_FLOOR)
            with contextlib.suppress(OSError):
                cache.parent.mkdir(exist_ok=True)
                cache.write_text(json.dumps({"probe_median": value, "values": values}))
        _background[key] = value
    return _background[key]


def _cached(path: Path) -> float | None:
    try:
        value = float(json.loads(path.read_text(encoding="utf-8"))["probe_median"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return value if math.isfinite(value) and value >= PROBE_FLOOR else None


def decide(question: str, passages: Sequence[Passage], settings: Settings) -> Decision:
    """Refuse off-scope requests, bare injections and questions the passages do not answer."""
    reason = rule(question)
    if reason is not None:
        return Decision(True, reason, 0.0)
    if not passages:
        return Decision(True, "nothing retrieved", 0.0)
    features = question_evidence(question, passages, settings, WEIGHTS)
    value = score(features)
    threshold = settings.refusal_threshold
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
