"""The checker embeds a claim only when a cosine can change its verdict (`lazy`), and a lazy
verdict is the verdict of the full measurement: same decision, reason, failing clause."""

from __future__ import annotations

import math

import pytest

from evals.checker_eval import load_rows
from rag.citations import default_embedder, support_score
from rag.support import needs_vector
from rag.vector_cache import VECTORS


class _Refusing:
    """An embedder that must not be called (once `closed`; before, the real one)."""

    closed = True

    def encode(self, texts):  # noqa: ANN001, ANN201
        if self.closed:
            raise AssertionError(f"embedded {texts}")
        return default_embedder().encode(texts)


PASSAGE = ("Keep the change small. A reviewer can hold about 400 lines in their head; beyond "
           "that defects slip through. Reviews should start within one working day.")


@pytest.mark.parametrize(("claim", "reason"), [
    ("A reviewer can hold about 900 lines in their head.", "number"),
    ("Reviews should start within one working day, says Alice Moreau.", "name"),
    ("Reviews should not start within one working day.", "negation"),
])
def test_a_vetoed_claim_is_judged_without_its_vector(claim: str, reason: str) -> None:
    VECTORS.encode([PASSAGE], default_embedder())  # (not the claim: it must not be needed)
    assert not needs_vector(claim, PASSAGE)
    lazy = support_score(claim, PASSAGE, _Refusing())
    assert lazy.vetoed and lazy.reason == reason and math.isnan(lazy.score)
    full = support_score(claim, PASSAGE, default_embedder(), lazy=False)
    assert (full.vetoed, full.reason, full.clause) == (True, reason, lazy.clause)


def test_a_claim_whose_verdict_needs_the_cosine_is_embedded() -> None:
    claim = "Small changes get reviewed quickly."
    assert needs_vector(claim, PASSAGE)
    with pytest.raises(AssertionError, match="embedded"):
        support_score(claim, PASSAGE, _Refusing())


def test_lazy_verdicts_equal_full_verdicts_on_the_labelled_dev_rows() -> None:
    """Every dev row the lazy path judges without a vector gets the full path's verdict."""
    embedder = default_embedder()
    skipped = 0
    for row in load_rows(split="dev"):
        if needs_vector(row["sentence"], row["passage"]):
            continue
        skipped += 1
        lazy = support_score(row["sentence"], row["passage"], _Refusing())
        full = support_score(row["sentence"], row["passage"], embedder, lazy=False)
        assert (lazy.ok(0.0), lazy.vetoed, lazy.reason, lazy.clause, lazy.novel) == (
            full.ok(0.0), full.vetoed, full.reason, full.clause, full.novel), row["id"]
    assert skipped >= 80  # 109 of the 283 dev rows on 2026-12-01


MARKDOWN = ("Projects that are finished, for whatever reason, are moved into the **Landed** "
            "stage. Install the Zoom application through [Self Service](https://example.org/ss).")


def test_a_copied_sentence_takes_the_vector_of_the_sentence_it_copies() -> None:
    """Under the rules (the learned model's inputs were measured with the claim's own vector)."""
    from dataclasses import replace

    from rag.citations import DEFAULTS, verify
    from rag.support import copied_sentence
    from rag.text import units

    rules = replace(DEFAULTS, model="rules")

    guard = _Refusing()
    guard.closed = False
    VECTORS.encode([u.text for u in units(MARKDOWN)], guard)  # passage warm
    guard.closed = True
    claim = "Projects that are finished, for whatever reason, are moved into the Landed stage"
    assert copied_sentence(claim, MARKDOWN) == units(MARKDOWN)[0].text
    assert copied_sentence("Projects are moved into the Landed stage.", MARKDOWN) is None
    support = support_score(claim, MARKDOWN, guard, rules)
    assert support.ok(0.0) and support.similarity == pytest.approx(1.0)
    checked = verify(f"{claim} [1]. Install the Zoom application through Self Service [1].",
                     [MARKDOWN], guard, thresholds=rules)
    assert [c.verified for c in checked] == [True, True]
