"""The soft word alignment of the citation checker (rag/token_align.py) on the real MiniLM.

Per-token vectors come from the ONNX graph's last hidden state (`OnnxEmbedder.token_vectors`);
the features read off them must rank a faithful claim above an invented one, locate an invented
tail, and cost one model run per new text only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from rag import support_model, token_align
from rag.onnx_export import token_graph
from rag.settings import Settings
from rag.support import analyse, features
from rag.vector_cache import default_embedder

PASSAGE = [
    "Tribal teams often resist new ways of working that come from outside the team.",
    "Start by listening to their concerns and learning how they work today.",
    "Offer to pair with them on one small project before proposing any process change.",
]


@pytest.fixture(scope="module")
def embedder() -> Any:
    return default_embedder()


class Counting:
    """The real embedder's `token_vectors`, recording the texts it is asked for."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.asked = inner, []  # type: ignore[var-annotated]

    def token_vectors(self, texts: Sequence[str]) -> Any:
        self.asked.extend(texts)
        return self.inner.token_vectors(texts)


def test_token_vectors_are_unit_word_pieces_with_spans(embedder: Any) -> None:
    text = "Pairing beats mandates."
    (vectors, spans), (alone, _) = embedder.token_vectors([text, "x " * 40])[0], \
        embedder.token_vectors([text])[0]
    pieces = [text[a:b].lower() for a, b in spans]
    assert pieces[-1] == "." and "mandates" in "".join(pieces)  # no [CLS] / [SEP]
    assert vectors.shape == (len(spans), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # a text's vectors do not depend on a longer batch-mate (padding is masked)
    assert np.abs(vectors - alone).max() < 1e-3


def test_token_graph_is_derived_once(embedder: Any) -> None:
    path = token_graph(embedder.graph)
    stamp = os.stat(path).st_mtime_ns
    assert token_graph(embedder.graph) == path and os.stat(path).st_mtime_ns == stamp


def test_faithful_claims_align_better_than_invented_ones(embedder: Any) -> None:
    copy = token_align.features(PASSAGE[0], PASSAGE, embedder)
    assert copy["tok_min"] > 0.9 and copy["win_mean"] > 0.9
    faithful = token_align.features(
        "Before proposing a process change, offer to pair with them on a small project.",
        PASSAGE, embedder)
    invented = token_align.features(
        "Escalate to their director and require weekly compliance audits.", PASSAGE, embedder)
    for name in ("tok_mean", "tok_min", "tok_run", "win_mean"):
        assert faithful[name] > invented[name] + 0.1, name


def test_an_invented_tail_is_the_weakest_run_and_clause(embedder: Any) -> None:
    claim = ("Start by listening to their concerns, and then bill them quarterly "
             "for consulting invoices")
    clauses = ["Start by listening to their concerns",
               "and then bill them quarterly for consulting invoices"]
    tail = token_align.features(claim, PASSAGE, embedder, clauses)
    head = token_align.features(clauses[0], PASSAGE, embedder)
    assert head["tok_run"] > 0.85
    assert tail["tok_run"] < head["tok_run"] - 0.2
    assert tail["clause_min"] < tail["tok_mean"]


def test_vectors_are_cached_per_text(embedder: Any) -> None:
    counting = Counting(embedder)
    claim = "Listening to their concerns comes first."
    token_align.features(claim, PASSAGE, counting)
    assert sorted(counting.asked) == sorted([claim, *PASSAGE])
    token_align.features(claim + " Twice.", PASSAGE, counting)
    assert counting.asked[-1] == claim + " Twice." and len(counting.asked) == 5


def test_without_token_vectors_the_fallback_model_decides_as_before() -> None:
    """An embedder with no per-token vectors gets no alignment features; the previous model
    then verifies exactly what it verified at its own threshold (0.46)."""
    class Plain:
        def encode(self, texts: Sequence[str]) -> np.ndarray:
            return np.ones((len(texts), 4), dtype=np.float32) / 2

    assert token_align.features("Listening comes first.", PASSAGE, Plain()) == {}
    rng = np.random.default_rng(0)
    limit = support_model.THRESHOLD
    assert limit == Settings.model_fields["support_learned_threshold"].default
    for _ in range(200):
        row = {f: float(rng.uniform(-1, 2)) for f in support_model.FALLBACK_WEIGHTS}
        old = support_model.probability(row, support_model.FALLBACK_WEIGHTS, -7.349)
        assert (support_model.probability(row) >= limit) == (old >= 0.46)


def test_the_learned_model_reads_the_alignment(embedder: Any) -> None:
    analysis = analyse("Offer to pair with them on one small project.", "\n".join(PASSAGE),
                       embedder, clause_vectors=True, tokens=True)
    measured = features(analysis)
    assert set(support_model.ALIGNMENT) <= set(measured)
    assert set(support_model.FEATURES) <= set(measured)
    assert support_model.probability(measured) > 0.5


def test_one_run_gives_a_claims_sentence_and_word_vectors(embedder: Any) -> None:
    """`encode_claims`: the token graph's pooled output is the vector `encode` gives, and the
    word vectors are those `token_vectors` gives, from one run."""
    from rag.vector_cache import VECTORS

    claims = ["Listen to the team's concerns first.", "Pair with them on a small project."]
    VECTORS.clear()
    token_align.CLAIMS.clear()
    token_align.encode_claims(claims, embedder)
    from_run = VECTORS.encode(claims, embedder)
    words = token_align.CLAIMS.get(claims, embedder)
    VECTORS.clear()
    token_align.CLAIMS.clear()
    assert np.abs(from_run - VECTORS.encode(claims, embedder)).max() < 1e-5
    for (mine, spans), (theirs, their_spans) in zip(
            words, token_align.CLAIMS.get(claims, embedder), strict=True):
        assert np.array_equal(spans, their_spans) and np.abs(mine - theirs).max() < 1e-5


def test_claims_below_the_floor_get_no_word_alignment(embedder: Any) -> None:
    """Under the learned model a claim whose sentence score is below the floor is rejected
    without its word alignment (no token run); the verdict is the full measurement's."""
    from dataclasses import replace

    from rag.support import DEFAULTS, judge, support_score

    learned = replace(DEFAULTS, model="learned")
    passage = " ".join(PASSAGE)
    claim = "Managed identities never need to be rotated by developers."
    token_align.CLAIMS.clear()
    token_align.PASSAGES.clear()
    counting = Counting(embedder)
    counting.encode = embedder.encode  # type: ignore[attr-defined]
    support = support_score(claim, passage, counting, learned)
    assert counting.asked == [] and not support.ok(learned.limit) and support.reason
    full = judge(analyse(claim, passage, embedder, clause_vectors=True, tokens=True), learned)
    assert not full.ok(learned.limit)


def test_prefetched_passages_leave_only_the_claims_to_run(
        embedder: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The generative answerer's prefetch computes the passages' word vectors beforehand:
    checking then runs the token graph on the claims only, with the same verdicts."""
    from dataclasses import replace

    from rag.citations import DEFAULTS, verify
    from rag.support import prefetch_tokens

    learned = replace(DEFAULTS, model="learned")
    answer = ("Tribal teams often resist new ways of working [1]. Start by listening to their "
              "concerns [1]. "
              "Offer them a bonus for every incident [1].")
    token_align.CLAIMS.clear()
    token_align.PASSAGES.clear()
    plain = [(c.verified, c.citations, c.reason) for c in
             verify(answer, [" ".join(PASSAGE)], embedder, thresholds=learned)]
    token_align.CLAIMS.clear()
    token_align.PASSAGES.clear()
    prefetch_tokens([" ".join(PASSAGE)], embedder)
    assert all((id(embedder), text) in token_align.PASSAGES._items for text in PASSAGE)
    asked: list[str] = []
    run = embedder.token_states

    def counted(texts: Sequence[str]) -> Any:
        asked.extend(texts)
        return run(texts)

    monkeypatch.setattr(embedder, "token_states", counted)  # the caches key the embedder
    checked = verify(answer, [" ".join(PASSAGE)], embedder, thresholds=learned)
    assert [(c.verified, c.citations, c.reason) for c in checked] == plain
    assert asked and not set(asked) & set(PASSAGE)


def test_the_generative_answerer_prefetches_only_for_the_learned_model(embedder: Any) -> None:
    from answers_common import passage

    from rag.answerers.generative import prefetch_checker
    from rag.embedder import make_embedder

    token_align.PASSAGES.clear()
    assert prefetch_checker([passage(PASSAGE[1])], Settings(support_model="rules")) is None
    thread = prefetch_checker([passage(PASSAGE[1])], Settings(support_model="learned"))
    assert thread is not None
    thread.join()
    key = (id(make_embedder(Settings(support_model="learned"))), PASSAGE[1])
    assert key in token_align.PASSAGES._items  # computed in the thread, for the checker's embedder


def test_clause_vectors_are_pooled_from_the_claims_own_run(
        embedder: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under the learned model a clause's vector is the mean of its claim's last hidden state
    over the clause's word pieces (as late chunking pools a chunk's sentences), found in the
    claim even when the clause drops its commas; no model run of its own."""
    from rag import claims as rules
    from rag.embedder_onnx import pool

    claim = ("Autoscaling can tune parameters like CPU, disk, and RAM, while the team can "
             "tune the number of running images.")
    clauses = rules.clauses(claim)
    assert len(clauses) > 1 and any(c not in claim for c in clauses)  # commas dropped
    _, (states,) = embedder.token_states([claim])
    token_align.RUNS.clear()
    token_align.encode_claims([claim], embedder)
    asked: list[str] = []
    monkeypatch.setattr(embedder, "token_states", lambda texts: asked.extend(texts))
    monkeypatch.setattr(embedder, "encode", lambda texts, *a, **k: asked.extend(texts))
    pooled = token_align.clause_vectors(claim, clauses, embedder)
    assert pooled is not None and asked == []
    for clause, row in zip(clauses, pooled, strict=True):
        span = token_align._locate(claim, clause)
        assert span is not None
        expected = pool(states, *span)
        assert expected is not None and np.abs(row - expected).max() < 1e-4
    assert token_align.clause_vectors(claim, clauses, object()) is None  # no per-token vectors


def test_the_learned_checker_encodes_no_clause_alone(
        embedder: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """`verify` under the learned model runs the claims on the token graph and asks `encode`
    for none of their clauses (their vectors come from the claims' runs)."""
    from dataclasses import replace

    from rag import claims as rules
    from rag.citations import DEFAULTS, verify
    from rag.vector_cache import VECTORS

    learned = replace(DEFAULTS, model="learned")
    claim = "Listen to their concerns, and offer to pair with them on one small project."
    passage = " ".join(PASSAGE)
    VECTORS.clear()
    VECTORS.encode(PASSAGE, embedder)
    encoded: list[str] = []
    encode = embedder.encode

    def counted(texts: Sequence[str], *args: Any, **kwargs: Any) -> Any:
        encoded.extend(texts)
        return encode(texts, *args, **kwargs)

    monkeypatch.setattr(embedder, "encode", counted)  # the caches key the embedder
    verify(claim + " [1]", [passage], embedder, thresholds=learned)
    assert len(rules.clauses(claim)) > 1 and encoded == []
