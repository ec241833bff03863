"""The answerability signals of issue 11, round 5: the typed sentence cosine, the asking part's
rare-word coverage (trusted by index size), money and duration answers, title overlap."""

from __future__ import annotations

import pytest


def _text_passage(text: str, title: str = "Benefits", heading: tuple[str, ...] = ()):  # noqa: ANN202
    from rag.chunk import Chunk
    from rag.retrieve import Passage

    chunk = Chunk("benefits#top#0", "benefits", title, "benefits.md", heading, "", 0, 0, 1, 2,
                  text)
    return Passage([chunk], 0.5, 0.0, {"dense": 1})


def _index(texts: list[str]):  # noqa: ANN202
    from rag.index.bm25 import BM25

    return BM25.build([str(i) for i in range(len(texts))], texts)


def test_typed_cosine_only_looks_at_sentences_holding_the_asked_kind(trust) -> None:  # noqa: ANN001
    """Real MiniLM: a page that talks about the topic but holds no number gives a "how many"
    question no typed sentence (0); a sentence with the number is what the cosine is taken to."""
    from rag.answerability import sentence_cosine
    from rag.embedder import make_embedder

    embedder = make_embedder(trust)
    question = "How many weeks of parental leave do new parents get?"
    talk = _text_passage("Parental leave is a benefit for new parents. Ask HR about parental "
                         "leave.")
    answer = _text_passage("Parental leave is a benefit for new parents. You get 12 weeks.")
    assert sentence_cosine(question, [talk], embedder) > 0.4  # on topic...
    assert sentence_cosine(question, [talk], embedder, "quantity") == 0.0  # ...but no number
    typed = sentence_cosine(question, [answer], embedder, "quantity")
    assert 0.0 < typed < sentence_cosine(question, [answer], embedder)  # only "12 weeks"


def test_ask_coverage_reads_the_asking_part_not_the_preamble() -> None:
    """The scenario's own words ("wrist", "keyboard") may be missing; what it asks must not be.
    A one-clause near miss that misses its rarest word ("sabbatical") scores low."""
    from rag.answerability import ask_coverage, rare_coverage

    page = "You can request a reasonable accommodation through the accommodation process."
    others = [f"Employees go through leave, travel and benefits, part {i}." for i in range(400)]
    index = _index([page, *others])
    scenario = ("My wrist is healing and I need a special keyboard. "
                "Do I have to go through the accommodation process?")
    assert rare_coverage(scenario, [page], index) < 0.2  # the whole question misses "wrist"
    # its asking part misses nothing (0.9: a 401-chunk index trusts coverage to 80 %)
    assert ask_coverage(scenario, [page], index) > 0.85
    near = "Does the agency offer paid sabbaticals?"
    assert ask_coverage(near, [page], index) < 0.3


def test_ask_coverage_says_little_on_an_index_too_small_to_measure_rarity() -> None:
    """On a 3-document index every missing word has the largest idf: the feature then reads
    close to its no-evidence middle instead of 0, whatever the question."""
    from rag.answerability import NO_EVIDENCE, ask_coverage, rare_coverage

    texts = ["Build trust with a closed team.", "Offer to help.", "Listen first."]
    index = _index(texts)
    question = "What chores could I volunteer for to earn goodwill?"
    assert rare_coverage(question, texts, index) == 0.0
    assert abs(ask_coverage(question, texts, index) - NO_EVIDENCE) < 0.03


@pytest.mark.parametrize(("question", "kind"), [
    ("How much does a Mural license cost for my team?", "money"),
    ("What is the price of a replacement badge?", "money"),
    ("How much do contractors charge per hour?", "money"),
    # "salary" outside an asking phrase does not make a question a price question
    ("A mortgage lender wants to verify my salary. Who should they contact?", None),
    ("How much annual leave do I accrue per pay period?", "quantity"),
])
def test_a_price_question_asks_for_money(question: str, kind: str | None) -> None:
    from rag.answer_slot import asks_for

    assert asks_for(question) == kind


@pytest.mark.parametrize(("sentence", "expected"), [
    ("Mural licenses are renewed every 12 months by the team.", 0.0),  # a number, no money
    ("A Mural license costs $12 per month.", 1.0),
    ("Mural is free for every team.", 1.0),
])
def test_a_price_is_answered_by_money_not_by_any_number(sentence: str, expected: float) -> None:
    from rag.answer_slot import answer_type

    index = _index([sentence, "Tools and licenses cost the team much.",
                    "Much of the cost is in tools."])
    question = "How much does a Mural license cost?"
    assert answer_type(question, [_text_passage(sentence)], index) == expected


def test_counted_time_is_answered_in_a_unit_of_time() -> None:
    """"How much vacation *time*" is answered by "4 hours per pay period": the counted thing
    is time, which a sentence gives in hours or days, not by the word "time"."""
    from rag.answer_slot import answer_type

    answer = "New employees earn 4 hours of vacation per pay period."
    filler = ["Vacation and leave for employees take much time.",
              "Pay periods and pay take time and much work."]
    question = "How much vacation time do new employees earn?"
    assert answer_type(question, [_text_passage(answer)], _index([answer, *filler])) == 1.0
    other = "New employees earn vacation according to their grade 12 rules."  # no time unit
    assert answer_type(question, [_text_passage(other)], _index([other, *filler])) == 0.0


def test_title_overlap_counts_the_question_words_in_the_top_article_headings() -> None:
    from rag.answerability import title_overlap

    index = _index(["Paid parental leave for new parents.", "How much travel do I get?",
                    "Laptops: how much do I get?", "I get much help."])
    passage = _text_passage("Twelve weeks.", title="Paid parental leave", heading=("About",))
    # the rare words are in the title; "much" and "get" are not (they weigh little)
    assert title_overlap("How much paid parental leave do I get?", [passage], index) > 0.75
    assert title_overlap("Which laptop do I get?", [passage], index) < 0.2


def test_fixture_rows_are_the_test_questions_and_the_frozen_model_decides_them_right() -> None:
    """evals/refusal_fixture.py: real ingest of the fixture playbook, one row per question the
    tests ask it; the frozen model (rag/refusal.py) refuses exactly the off-topic ones."""
    from evals.calibrate_refusal import decided_right, frozen
    from evals.refusal_fixture import QUESTIONS, fixture_rows
    from rag.settings import Settings

    rows = fixture_rows(Settings.model_validate({}))
    assert [r["id"] for r in rows] == list(QUESTIONS)
    assert all(r["rule"] is None and "typed_cos" in r["features"] for r in rows)
    model, threshold = frozen()
    assert decided_right(rows, model, threshold)
    assert not decided_right(rows, model, 0.99)  # a stricter threshold refuses answerable ones
