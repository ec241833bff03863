"""The extractive answerer: short, cited, in reading order, deterministic; the JSON contract."""

from __future__ import annotations

import re

import pytest

from rag.answerers import get_answerer
from rag.api import ask, retrieve_passages
from rag.errors import PlaybookError

TACTICS = ("Assume positive intent", "Ask for an overview", "Get in the trenches",
           "Offer to take on some of the tasks", "commiserate with them")
CAUSES = ("dead bodies", "Lack of a transparent culture", "thrown under the bus")
RULE = "Trust is built more by asking for help rather than giving help."


def numbers(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"\[(\d+)\]", text)}


def test_tribal_team_answer_is_the_whole_tactics_list_in_order(trust) -> None:  # noqa: ANN001
    answer = ask("How do I approach a tribal team?", trust)
    assert answer.answerer == "extractive" and not answer.refused
    text = answer.answer
    positions = [text.find(t) for t in TACTICS]
    assert -1 not in positions and positions == sorted(positions), text
    assert not any(c in text for c in CAUSES), text  # causes answer "why", not "how"
    bullets = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(bullets) == len(TACTICS)
    if "Trust is built" in text:
        assert RULE in text and text.index(RULE) > positions[-1]
    assert all(re.search(r"\[\d+\]$", line) for line in text.splitlines())
    assert numbers(text) <= {c.n for c in answer.citations}


def test_why_question_gets_the_causes_and_no_tactics(trust) -> None:  # noqa: ANN001
    answer = ask("Why are some tech teams closed off to outsiders?", trust)
    assert all(c in answer.answer for c in CAUSES[:2]), answer.answer
    assert not any(t in answer.answer for t in TACTICS), answer.answer


def test_should_i_question_gets_the_advice_and_its_caveat(trust) -> None:  # noqa: ANN001
    answer = ask("Should I commiserate with a team to gain its trust?", trust)
    assert "commiserate with them" in answer.answer
    assert "careful not to be sucked into the negativity" in answer.answer
    assert "Assume positive intent" not in answer.answer  # one item, not the whole list


def test_two_part_question_answers_both_parts(trust) -> None:  # noqa: ANN001
    answer = ask("What are the two kinds of shared experiences, and is trust built more by "
                 "giving or by asking for help?", trust)
    assert "Past experiences" in answer.answer and "Current experiences" in answer.answer
    assert RULE in answer.answer


def test_follow_up_after_a_how_question_gets_no_causes(trust) -> None:  # noqa: ANN001
    history = [("How do I approach a tribal team?", "")]
    answer = ask("and what if they still don't open up?", trust, history=history)
    assert not any(c in answer.answer for c in CAUSES), answer.answer


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
    with pytest.raises(PlaybookError, match="choose one of extractive, local, openai"):
        get_answerer("gpt")


def test_no_passages_no_units(trust) -> None:  # noqa: ANN001
    from rag.answerers.extractive import extractive_answer

    passages = retrieve_passages("trust", trust)
    assert extractive_answer("trust", [], trust).answer == ""
    assert extractive_answer("trust", passages, trust).sentences


def test_terminal_rendering_bolds_the_cited_sentences(trust) -> None:  # noqa: ANN001
    from rich.console import Console

    from rag.render import format_answer, rich_answer

    answer = ask("Should I commiserate with the team?", trust)
    console = Console(force_terminal=True, width=100, record=True)
    console.print(rich_answer(answer))
    styled = console.export_text(styles=True, clear=False)
    start, end = answer.citations[0].spans[0]
    assert "\x1b[" in styled and "Sources:" in styled
    assert answer.citations[0].text[start:end][:30] in console.export_text()
    plain = format_answer(answer)
    assert "\x1b[" not in plain and plain.startswith(answer.answer.splitlines()[0])


def test_generated_draft_is_checked_before_it_is_shown(trust) -> None:  # noqa: ANN001
    from rag.answerers.generative import checked_answer

    question = "How do I approach a tribal team?"
    passages = retrieve_passages(question, trust)
    draft = ("Building Trust:\nAssume positive intent: the team is making decisions with the best "
             "of intent [1]. Ask for an overview of how the system works and listen intently "
             "[4]. The moon is made of green cheese and owls run the world [1].")
    answer = checked_answer(question, draft, passages, trust, "local")
    assert answer.answerer == "local" and not answer.refused
    assert "Building Trust:" not in answer.answer and "moon" not in answer.answer
    assert numbers(answer.answer) == {1}  # [4] matched no passage: re-attributed to [1]
    dropped = [s for s in answer.sentences if s.dropped]
    assert len(dropped) == 1 and "moon" in dropped[0].text and not dropped[0].verified
    assert any(s.reattributed for s in answer.sentences)
    assert "Removed 1 unsupported sentence(s) and 1 citation number(s)" in answer.notice
    assert answer.citations[0].spans


def test_garbage_draft_falls_back_to_the_extractive_answer(trust) -> None:  # noqa: ANN001
    from rag.answerers.generative import checked_answer

    question = "How do I approach a tribal team?"
    passages = retrieve_passages(question, trust)
    answer = checked_answer(question, "zxq zxq zxq lorem ipsum [9] [9] [9]", passages, trust,
                            "openai")
    assert answer.answerer == "openai>extractive" and "0 of 1" in answer.notice
    assert answer.sentences and all(s.verified for s in answer.sentences)
