"""Follow-ups are rewritten into standalone queries before retrieval; the query is returned."""

from __future__ import annotations

import pytest

from rag.followup import acceptable, is_followup, standalone_queries, standalone_query
from rag.settings import Settings

TRIBAL = "How do I approach a tribal team?"


@pytest.mark.parametrize(("question", "expected"), [
    ("and if they still don't open up?", True),
    ("What about them?", True),
    ("why?", True),
    ("Is that a good idea?", True),
    ("How should code reviews be done?", False),
    ("What does the playbook say about post mortems and blame?", False),
])
def test_is_followup(question: str, expected: bool) -> None:
    assert is_followup(question) is expected


def test_rule_rewrite_carries_the_topic_through_several_turns() -> None:
    history = [(TRIBAL, "..."), ("and if they still don't open up?", "..."),
               ("How big should a pull request be?", "..."), ("why?", "...")]
    queries = standalone_queries(history)
    assert queries[1] == f"{TRIBAL} and if they still don't open up?"
    assert queries[2] == "How big should a pull request be?"
    assert queries[3] == "How big should a pull request be? why?"


def test_new_topic_is_not_rewritten() -> None:
    settings = Settings.model_validate({})
    assert standalone_query("How should code reviews be done?", [(TRIBAL, "x")], settings) == (
        "How should code reviews be done?")


def test_model_rewrite_must_keep_the_follow_up_and_the_topic() -> None:
    question, previous = "and if they still don't open up?", TRIBAL
    assert acceptable("What if a tribal team still doesn't open up?", question, previous)
    assert not acceptable("What is the capital of France?", question, previous)
    assert not acceptable("How do I approach a tribal team?", question, previous)
    assert not acceptable("", question, previous)


def test_ask_returns_the_searched_query_and_answers_the_follow_up(trust) -> None:  # noqa: ANN001
    from rag.api import ask

    first = ask(TRIBAL, trust)
    followup = ask("and if they still don't open up?", trust, history=[(TRIBAL, first.answer)])
    assert followup.query == f"{TRIBAL} and if they still don't open up?"
    assert followup.question == "and if they still don't open up?"
    assert not followup.refused and followup.citations[0].article_id == "building-trust"
    assert followup.to_json()["query"] == followup.query
    alone = ask("and if they still don't open up?", trust)
    assert alone.query == alone.question
