"""Evaluation metrics on small cases computed by hand."""

from __future__ import annotations

import math

import pytest

from evals.metrics import (
    Claim,
    citation_recall_precision,
    citation_validity,
    contains_quote,
    hit_at,
    key_point_recall,
    markers,
    ndcg_at,
    percentile,
    recall_at,
    reciprocal_rank,
    refusal_scores,
)

RANKED = ["a", "b", "c", "a", "d", "e"]  # the repeated "a" must be ignored


@pytest.mark.parametrize(
    ("k", "relevant", "expected"),
    [(1, {"a"}, 1.0), (1, {"c"}, 0.0), (3, {"c"}, 1.0), (3, {"d"}, 0.0), (5, {"e"}, 1.0)],
)
def test_hit_at(k: int, relevant: set[str], expected: float) -> None:
    assert hit_at(RANKED, relevant, k) == expected


def test_reciprocal_rank_uses_first_relevant_within_cutoff() -> None:
    assert reciprocal_rank(RANKED, {"c", "d"}) == pytest.approx(1 / 3)
    assert reciprocal_rank(RANKED, {"d"}) == pytest.approx(1 / 4)  # duplicate "a" not counted
    assert reciprocal_rank(RANKED, {"e"}, k=4) == 0.0
    assert reciprocal_rank(RANKED, set()) == 0.0


def test_ndcg_binary_by_hand() -> None:
    # relevant b (rank 2) and d (rank 4): DCG = 1/log2(3) + 1/log2(5); IDCG = 1 + 1/log2(3)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3)
    assert ndcg_at(RANKED, {"b", "d"}, 10) == pytest.approx(dcg / idcg)
    assert ndcg_at(["x", "y"], {"b"}, 10) == 0.0
    assert ndcg_at(["b", "d"], {"b", "d"}, 10) == pytest.approx(1.0)


def test_ndcg_graded_and_cutoff() -> None:
    # gains: c=2 at rank 3, a=1 at rank 1 -> DCG = 1 + 2/2 = 2; ideal c then a = 2 + 1/log2(3)
    assert ndcg_at(RANKED, {"a": 1, "c": 2}, 10) == pytest.approx(2 / (2 + 1 / math.log2(3)))
    # cut at 2: only a counts -> 1 / (2 + 1/log2(3))
    assert ndcg_at(RANKED, {"a": 1, "c": 2}, 2) == pytest.approx(1 / (2 + 1 / math.log2(3)))
    assert ndcg_at(RANKED, {"a": 0, "b": 1}, 10) == pytest.approx(1 / math.log2(3))


def test_recall_at() -> None:
    assert recall_at(RANKED, {"a", "d", "z"}, 3) == pytest.approx(1 / 3)
    assert recall_at(RANKED, {"a", "d", "z"}, 100) == pytest.approx(2 / 3)
    assert recall_at(RANKED, set(), 5) == 0.0


def test_quote_matching_folds_case_space_and_curly_quotes() -> None:
    passage = "Lots of \u201cdead bodies\u201d - the team\u2019s  thing is\nheld together"
    assert contains_quote([passage], ["team's thing is held"])
    assert contains_quote(["other", passage], ['"Dead Bodies"'])
    assert not contains_quote([passage], ["duct tape"])


def test_markers_and_validity() -> None:
    assert markers("Do this [1]. And that [2][3].") == [1, 2, 3]
    claims = [Claim("x", [1, 2]), Claim("y", [5])]
    assert citation_validity(claims, [1, 2, 3]) == pytest.approx(2 / 3)
    assert citation_validity([Claim("z", [])], [1]) is None


def _word_support(claim: str, passage: str) -> bool:
    """Supported when every word of the claim occurs in the passage (a test double)."""
    return set(claim.lower().split()) <= set(passage.lower().split())


def test_alce_recall_and_precision_by_hand() -> None:
    passages = {1: "alpha beta", 2: "gamma", 3: "unrelated words"}
    claims = [
        Claim("alpha beta", [1, 3]),  # supported; [3] alone no, rest ([1]) yes -> [3] imprecise
        Claim("alpha gamma", [1, 2]),  # supported only jointly -> both precise
        Claim("delta", [2]),  # unsupported -> its citation imprecise
        Claim("gamma", [2, 9]),  # [9] is not a shown passage -> counts as imprecise
    ]
    recall, precision = citation_recall_precision(claims, passages, _word_support)
    assert recall == pytest.approx(3 / 4)
    # citations: 2 + 2 + 1 + 2 = 7; precise: [1] + [1],[2] + 0 + [2] = 4
    assert precision == pytest.approx(4 / 7)
    assert citation_recall_precision([], passages, _word_support) == (None, None)


def test_uncited_sentence_is_unsupported() -> None:
    recall, precision = citation_recall_precision(
        [Claim("alpha", []), Claim("alpha", [1])], {1: "alpha"}, _word_support
    )
    assert recall == 0.5
    assert precision == 1.0


def test_key_point_recall_uses_stemmed_content_words() -> None:
    answer = "Assume positive intent and offer to join the war rooms."
    points = ["assuming positive intent", "joining war rooms", "customer support tickets"]
    assert key_point_recall(answer, points) == pytest.approx(2 / 3)
    assert key_point_recall(answer, []) == 1.0


def test_refusal_scores_by_hand() -> None:
    gold = [True, True, False, False, False]
    refused = [True, False, True, False, False]
    scores = refusal_scores(gold, refused)
    assert scores["refusal_precision"] == 0.5
    assert scores["refusal_recall"] == 0.5
    assert scores["false_refusal_rate"] == pytest.approx(1 / 3)
    assert refusal_scores([False], [False])["refusal_precision"] is None


def test_percentile_interpolates() -> None:
    values = [10.0, 20.0, 30.0, 40.0]
    assert percentile(values, 50) == 25.0
    assert percentile(values, 95) == pytest.approx(38.5)
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None


def test_feedback_rows_become_candidates_for_review() -> None:
    from evals.feedback import candidates

    rows = [
        {"id": "a", "question": "How do I build trust?", "rating": "up", "refused": False,
         "answer": "Ask for help [1].", "expected_articles": ["building-trust"],
         "citations": [{"n": 1, "source": "building-trust.md"}], "wrong_sources": []},
        {"id": "b", "question": "Capital of France?", "rating": "up", "refused": True,
         "answer": "", "expected_articles": [], "citations": []},
        {"id": "c", "question": "Who reviews PRs?", "rating": "down", "refused": False,
         "comment": "wrong article", "answer": "Something [1].", "citations": []},
        {"id": "d", "question": "unrated", "rating": None},
    ]
    got = candidates(rows, "playbook")
    assert [c["id"] for c in got] == ["fb-a", "fb-b", "fb-c"]
    assert got[0]["gold"] == {"refuse": False, "articles": ["building-trust"]}
    assert got[1]["gold"] == {"refuse": True} and got[1]["kind"] == "off-topic"
    assert "wrong article" in got[2]["review"] and got[2]["gold"]["articles"] == []
    assert candidates(rows[:1], "cwe-playbook")[0]["gold"]["sources"] == ["building-trust.md"]


def test_gold_sentences_is_the_share_of_cited_sentences_citing_a_gold_article() -> None:
    from evals.runner import score_answer
    from evals.suites import Question
    from rag.answer import Answer, Citation, Sentence

    def cite(n: int, article: str, text: str) -> Citation:
        return Citation(n, article, article.title(), "", text, f"{article}.md", 0.5, "", 1, 2)

    citations = [cite(1, "leave", "You get 12 weeks of paid parental leave."),
                 cite(2, "self-care", "Make sure you are eating and sleeping well.")]
    sentences = [Sentence("You get 12 weeks of paid parental leave.", [1], True),
                 Sentence("Make sure you are eating and sleeping well.", [2], True),
                 Sentence("Both of these matter.", [], True)]  # cites nothing: not counted
    answer = Answer("q", " ".join(s.text for s in sentences), False, "extractive", citations,
                    {}, sentences=sentences)
    question = Question("q1", "q", "direct", False, frozenset({"leave"}))
    record = score_answer(question, answer, "article_id", lambda claim, passage: True)
    assert record["gold_sentences"] == 0.5
    assert record["cites_gold"] == 1.0
