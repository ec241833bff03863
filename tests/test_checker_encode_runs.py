"""The embedder's runs for a few texts (the citation checker's sentences): cut to pay little
for padding, with the vectors of one padded run (issue 12, BENCHMARKS.md checker7)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from rag.embedder import make_embedder
from rag.embedder_onnx import RUN_TOKENS, _least_padding
from rag.settings import Settings


def _cost(lengths: list[int], parts: list[list[int]]) -> int:
    return sum(RUN_TOKENS + max(lengths[i] for i in rows) * len(rows) for rows in parts)


def _brute_force(lengths: list[int]) -> int:
    """The least cost over every way of cutting the texts into runs (any grouping)."""
    best = None
    for labels in itertools.product(range(len(lengths)), repeat=len(lengths)):
        groups: dict[int, list[int]] = {}
        for i, label in enumerate(labels):
            groups.setdefault(label, []).append(i)
        cost = _cost(lengths, list(groups.values()))
        best = cost if best is None else min(best, cost)
    assert best is not None
    return best


@pytest.mark.parametrize("lengths", [[15, 22, 40], [20, 21, 22], [9], [30, 10, 9, 8, 31],
                                     [40, 12, 12, 13, 39], [3, 60, 3, 60, 25]])
def test_runs_cover_every_text_once_at_the_least_cost(lengths: list[int]) -> None:
    parts = _least_padding(lengths)
    assert sorted(i for rows in parts for i in rows) == list(range(len(lengths)))
    assert _cost(lengths, parts) == _brute_force(lengths)


def test_padding_is_cut_where_it_costs_more_than_a_run() -> None:
    assert _least_padding([15, 22, 40]) == [[2], [1, 0]]  # 40-token text alone
    assert _least_padding([20, 21, 22]) == [[2, 1, 0]]  # similar lengths: one run


@pytest.fixture(scope="module")
def embedder() -> object:
    return make_embedder(Settings(embed_runtime="onnx"))


def test_few_texts_get_the_vectors_of_one_padded_run(embedder: object) -> None:
    """Same vectors (to 1e-6, the bar for what ingest stores) as the one padded run the
    embedder made before, and the cut really splits these texts."""
    texts = ["Rotate secrets.", "Write down every decision the team makes, even verbal ones.",
             "Short one.", "Ask the product owner for an overview of how the whole system works "
             "before you change the deployment pipeline of the payments service."]
    lengths = [len(e.ids) for e in embedder._tokenizer.encode_batch(texts)]  # type: ignore[attr-defined]
    assert len(_least_padding(lengths)) > 1
    padded = embedder._run([e.ids for e in embedder._tokenizer.encode_batch(texts)])  # type: ignore[attr-defined]
    np.testing.assert_allclose(embedder.encode(texts), padded, atol=1e-6, rtol=0)  # type: ignore[attr-defined]
    many = texts * 5  # more than SMALL_TEXTS: the token-budget batches, unchanged
    np.testing.assert_allclose(embedder.encode(many), np.vstack([padded] * 5), atol=1e-6, rtol=0)  # type: ignore[attr-defined]
