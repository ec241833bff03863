"""The refusal calibration's pure parts: the logistic fit, AUC, the threshold rule, the curves."""

from __future__ import annotations

import pytest

from evals.calibrate_refusal import (
    DEV,
    auc,
    choose_threshold,
    fit,
    predict,
    rates,
    search,
    transfer,
)
from evals.metrics import pr_curve, roc_curve


def _row(suite: str, refuse: bool, cos: float, lex: float, topic: str = "") -> dict:
    return {"suite": suite, "id": f"{suite}-{cos}-{lex}", "refuse": refuse, "rule": None,
            "topic": topic or ("in-scope" if not refuse else "general"),
            "features": {"passage_cos": cos, "lexical": lex}}


ROWS = [
    *(_row("a", False, 0.5 + i / 100, 0.6 + i / 50) for i in range(10)),
    *(_row("a", True, 0.2 + i / 100, 0.1 + i / 50, "near-miss" if i % 2 else "") for i in range(6)),
    *(_row("b", False, 0.35 + i / 100, 0.7) for i in range(8)),
    *(_row("b", True, 0.15 + i / 100, 0.2) for i in range(4)),
]


def test_fit_separates_and_weighs_evidence_positively() -> None:
    model = fit(ROWS, ["passage_cos", "lexical"])
    weights, _ = model
    assert weights["passage_cos"] > 0 and weights["lexical"] > 0
    scores = [predict(model, r) for r in ROWS]
    assert auc(scores, [not r["refuse"] for r in ROWS]) == 1.0


def test_a_rule_refusal_scores_zero() -> None:
    model = fit(ROWS, ["passage_cos", "lexical"])
    assert predict(model, ROWS[0] | {"rule": "a writing request"}) == 0.0


def test_threshold_is_the_highest_keeping_every_suite_under_the_false_refusal_cap() -> None:
    scores = [predict(fit(ROWS, ["passage_cos", "lexical"]), r) for r in ROWS]
    t = choose_threshold(ROWS, scores, 0.0)
    got = rates(ROWS, scores, t)
    assert got["false_refusal"] == (0.0, 18)
    assert got["off_topic_refused"] == (1.0, 10)
    assert got["near_miss_refused"] == (1.0, 3)
    lowest_in_scope = min(s for s, r in zip(scores, ROWS, strict=True) if not r["refuse"])
    assert t == lowest_in_scope  # any higher would refuse that question


def test_auc_counts_ties_half() -> None:
    assert auc([0.5, 0.5], [True, False]) == 0.5
    assert auc([0.9, 0.1], [True, True]) is None


def test_roc_and_pr_curves() -> None:
    fpr, tpr, area = roc_curve([0.9, 0.8, 0.3, 0.1], [True, False, True, False])
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert area == pytest.approx(0.75)
    recall, precision, ap = pr_curve([0.9, 0.8, 0.3, 0.1], [True, False, True, False])
    assert recall == [0.5, 0.5, 1.0, 1.0]
    assert precision == [1.0, 0.5, 2 / 3, 0.5]
    assert ap == pytest.approx(0.5 * 1.0 + 0.5 * 2 / 3)
    assert roc_curve([0.1, 0.2], [True, True])[2] is None


def _suite(answerability: list[float], refuse: list[bool], topics: list[str]) -> dict:
    questions = [{"id": str(i), "refuse": r, "topic": t}
                 for i, (r, t) in enumerate(zip(refuse, topics, strict=True))]
    records = [{"id": str(i), "refusal": {"score": a, "refused": a < 0.5}}
               for i, a in enumerate(answerability)]
    return {"questions": questions, "records": {"retrieval": records}}


def test_per_corpus_best_threshold_shows_when_one_threshold_cannot_serve_all() -> None:
    from evals.refusal_report import best_threshold_rows, refused_share

    # Corpus "tight": answerable at 0.8-0.9, off-topic at 0.1-0.2: any threshold in between.
    # Corpus "loose": its answerable questions go down to 0.3 and a near miss sits at 0.6.
    tight = _suite([0.8, 0.85, 0.9, 0.1, 0.2], [False] * 3 + [True] * 2,
                   ["in-scope"] * 3 + ["general", "near-miss"])
    loose = _suite([0.3, 0.7, 0.9, 0.1, 0.6], [False] * 3 + [True] * 2,
                   ["in-scope"] * 3 + ["general", "near-miss"])
    assert refused_share([0.3, 0.7, 0.9, 0.1, 0.6], [False] * 3 + [True] * 2,
                         ["in-scope"] * 3 + ["general", "near-miss"], 0.65, "near-miss") == 1.0
    rows = best_threshold_rows({"suites": {"tight": tight, "loose": loose}}, max_frr=0.0)
    assert rows["tight"]["threshold"] == pytest.approx(0.8)
    assert rows["tight"]["near_miss_refused"] == 1.0
    assert rows["loose"]["threshold"] == pytest.approx(0.3)  # 0 % false refusals: below 0.3
    assert rows["loose"]["off_topic_refused"] == 0.5 and rows["loose"]["near_miss_refused"] == 0.0


def _dev_rows(noise_separates: bool) -> list[dict]:
    """Rows for the three dev suites: `good` separates answerable from off-topic on every
    suite; `noise` does only on the first one (when `noise_separates` is False elsewhere)."""
    rows = []
    for n, suite in enumerate(DEV):
        for i in range(10):
            for refuse in (False, True):
                good = (0.6 if not refuse else 0.2) + i / 100
                flip = n == 0 or noise_separates
                noise = (0.7 if refuse != flip else 0.3) + i / 100
                rows.append({"suite": suite, "id": f"{suite}-{i}-{refuse}", "refuse": refuse,
                             "rule": None, "topic": "general",
                             "features": {"passage_cos": good, "lexical": noise}})
    return rows


def test_transfer_scores_a_feature_by_how_it_serves_a_corpus_left_out_of_the_fit() -> None:
    rows = _dev_rows(noise_separates=False)
    assert transfer(rows, ["passage_cos"], 0.0) == 1.0  # every held-out corpus: all refused
    # "lexical" says the opposite on the first corpus from the other two: it cannot transfer.
    assert transfer(rows, ["lexical"], 0.0) < 0.5


def test_search_ranks_the_subset_that_transfers_first(monkeypatch: pytest.MonkeyPatch) -> None:
    import evals.calibrate_refusal as calibrate

    monkeypatch.setattr(calibrate, "FEATURES", ("passage_cos", "lexical"))
    ranked = search(_dev_rows(noise_separates=False), 0.0, size=2)
    assert ranked[0][2] == ("passage_cos",)
    assert ranked[0][0] == 1.0 and all(r[0] <= 1.0 for r in ranked)


def test_search_leaves_out_the_without_features(monkeypatch: pytest.MonkeyPatch) -> None:
    import evals.calibrate_refusal as calibrate

    monkeypatch.setattr(calibrate, "FEATURES", ("passage_cos", "lexical"))
    ranked = search(_dev_rows(noise_separates=True), 0.0, size=2, without=("passage_cos",))
    assert ranked and all("passage_cos" not in r[2] for r in ranked)


def test_search_skips_a_set_that_decides_a_fixture_question_wrong(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The best-transferring set refuses an answerable fixture-playbook question (low cosine,
    as on a tiny index): it cannot be frozen, so search skips it."""
    import evals.calibrate_refusal as calibrate

    monkeypatch.setattr(calibrate, "FEATURES", ("passage_cos", "lexical"))
    rows = _dev_rows(noise_separates=False)
    assert search(rows, 0.0, size=2)[0][2] == ("passage_cos",)
    fixture = {"suite": "fixture", "id": "f", "refuse": False, "rule": None, "topic": "fixture",
               "features": {"passage_cos": 0.1, "lexical": 0.9}}
    ranked = search([*rows, fixture], 0.0, size=2)
    assert ("passage_cos",) not in [r[2] for r in ranked]


def test_decided_right_wants_every_row_on_its_side_of_the_threshold() -> None:
    from evals.calibrate_refusal import decided_right

    model = ({"passage_cos": 10.0}, -5.0)  # 0.5 at cosine 0.5
    answered = {"suite": "playbook", "refuse": False, "rule": None,
                "features": {"passage_cos": 0.7}}
    refused = {"suite": "playbook", "refuse": True, "rule": None,
               "features": {"passage_cos": 0.3}}
    assert decided_right([answered, refused], model, 0.5)
    assert not decided_right([answered, refused], model, 0.95)  # the answerable one refused
    assert not decided_right([{**refused, "features": {"passage_cos": 0.8}}], model, 0.5)
