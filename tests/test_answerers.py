"""The extractive answerer: short, cited, in reading order, deterministic; the JSON contract."""

from __future__ import annotations

import re

import pytest
from answers_common import FIXTURES, ROOT, build_index

from rag.answerers import get_answerer
from rag.api import ask, retrieve_passages

TACTICS = ("Assume positive intent", "Ask for an overview", "Get in the trenches",
           "Offer to take on some of the tasks")


@pytest.fixture(scope="module")
def trust(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    return build_index(tmp_path_factory.mktemp("trust"), ROOT / "content")


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    return build_index(tmp_path_factory.mktemp("fixtures"), FIXTURES / "playbook")


def numbers(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"\[(\d+)\]", text)}


def test_tribal_team_answer_quotes_the_tactics(trust) -> None:  # noqa: ANN001
    answer = ask("How do I approach a tribal team?", trust)
    assert answer.answerer == "extractive" and not answer.refused
    assert sum(t in answer.answer for t in TACTICS) >= 2, answer.answer
    lines = answer.answer.splitlines()
    assert 2 <= len(answer.sentences) <= trust.extractive_units
    assert all(re.search(r"\[\d+\]$", line) for line in lines)
    assert numbers(answer.answer) <= {c.n for c in answer.citations}


def test_every_sentence_is_a_verified_quote_with_its_span(fixtures) -> None:  # noqa: ANN001
    answer = ask("How big should a pull request be?", fixtures)
    assert not answer.refused
    assert "400 lines" in answer.answer
    for sentence in answer.sentences:
        assert sentence.verified and len(sentence.citations) == 1
        citation = answer.citations[sentence.citations[0] - 1]
        assert any(citation.text[a:b] == sentence.text for a, b in citation.spans)
    assert answer.citations[0].url == f"{answer.citations[0].source}#{answer.citations[0].anchor}"


def test_sentences_come_in_reading_order_and_are_deterministic(fixtures) -> None:  # noqa: ANN001
    question = "What should a new engineer do in the first week?"
    first, second = ask(question, fixtures), ask(question, fixtures)
    assert first.answer == second.answer
    keys = [(s.citations[0], first.citations[s.citations[0] - 1].spans) for s in first.sentences]
    assert keys == sorted(keys, key=lambda k: k[0])


def test_on_token_streams_the_answer_line_by_line(trust) -> None:  # noqa: ANN001
    pieces: list[str] = []
    answer = ask("Should I commiserate with the team?", trust, on_token=pieces.append)
    assert "".join(pieces) == answer.answer and len(pieces) == len(answer.answer.splitlines())


def test_json_contract(trust) -> None:  # noqa: ANN001
    data = ask("Is trust built by asking for help?", trust).to_json()
    assert {"question", "answer", "refused", "answerer", "citations", "timings_ms", "query",
            "sentences", "notice"} <= set(data)
    assert set(data["timings_ms"]) >= {"retrieve", "generate", "total"}
    cited = numbers(str(data["answer"]))
    citations = data["citations"]
    assert isinstance(citations, list) and cited <= {c["n"] for c in citations}
    assert all(c["url"].startswith("building-trust.md") for c in citations)


def test_unknown_answerer_is_rejected() -> None:
    with pytest.raises(ValueError, match="extractive, local or openai"):
        get_answerer("gpt")


def test_no_passages_no_units(trust) -> None:  # noqa: ANN001
    from rag.answerers.extractive import extractive_answer

    passages = retrieve_passages("trust", trust)
    assert extractive_answer("trust", [], trust).answer == ""
    assert extractive_answer("trust", passages, trust).sentences
