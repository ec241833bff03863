"""The extractive answerer: short, cited, in reading order, deterministic; the JSON contract."""

from __future__ import annotations

import re

import pytest
from answers_common import passage

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
    lead = text.find("here are some tactics")
    assert lead == -1 or lead < positions[0], text  # a lead-in never trails its own list
    bullets = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(bullets) == len(TACTICS)
    if "Trust is built" in text:
        assert RULE in text and text.index(RULE) > positions[-1]
    assert all(re.search(r"\[\d+\]$", line) for line in text.splitlines())
    assert numbers(text) <= {c.n for c in answer.citations}


def test_fill_takes_no_sentences_of_unrelated_articles(fixtures) -> None:  # noqa: ANN001
    # Among several articles, the tribal-team answer is the tactics list and its rule: onboarding
    # checklists and code-review advice, retrieved lower, must not pad it out.
    answer = ask("How do I approach a tribal team?", fixtures)
    cited = {c.article_id for c in answer.citations if c.n in numbers(answer.answer)}
    assert cited == {"building-trust"}, answer.answer
    assert all(t in answer.answer for t in TACTICS), answer.answer


def test_fill_never_ends_on_a_sentence_announcing_a_missing_list(fixtures) -> None:  # noqa: ANN001
    answer = ask("What should a code review focus on?", fixtures)
    assert not any(line.rstrip(" [0123456789]").endswith(":")
                   for line in re.split(r"(?<=\]) ", answer.answer)), answer.answer


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


# --- answers that cover the question: several passages, announced lists, a word budget --------

PAPERWORK = ("To get approval for advanced sick leave, you will need to submit the following "
             "paperwork to your supervisor. Note: we suggest drafting all pieces before routing "
             "them for signatures.\n\n"
             "1. An advanced sick leave request form.\n"
             "2. A medical certification signed by your physician.\n"
             "3. A copy of your timesheet report for the current and previous year.\n"
             "4. A written explanation of the circumstances.\n")


def test_an_announced_list_is_answered_whole_even_after_a_note(trust) -> None:  # noqa: ANN001
    from rag.answerers.extractive import extractive_answer

    answer = extractive_answer("What paperwork do I send to get advanced sick leave?",
                               [passage(PAPERWORK)], trust).answer
    items = ("request form", "medical certification", "timesheet report", "written explanation")
    positions = [answer.find(i) for i in items]
    assert -1 not in positions and positions == sorted(positions), answer


CORRELATION = [
    passage("A correlation ID is a unique identifier added to the very first incoming request. "
            "It identifies the context of the transaction.", "correlation", "Definition"),
    passage("Kubernetes pods are scheduled onto nodes by the scheduler. A node runs a kubelet.",
            "kubernetes", "Scheduling"),
    passage("Propagate the correlation ID to every downstream service in an HTTP header. Each "
            "service writes the correlation ID in all of its log lines.", "correlation",
            "Propagation", 1),
]


def test_a_two_part_question_is_answered_from_every_passage_it_needs(trust) -> None:  # noqa: ANN001
    from rag.answerers.extractive import extractive_answer

    answer = extractive_answer("What is a correlation ID and how should it be propagated?",
                               CORRELATION, trust)
    assert "unique identifier" in answer.answer and "HTTP header" in answer.answer, answer.answer
    assert {1, 3} <= numbers(answer.answer)
    assert "kubelet" not in answer.answer  # the unrelated passage adds nothing new to say


def test_fill_stops_at_the_word_budget_and_keeps_reading_order(trust) -> None:  # noqa: ANN001
    # Only units that fit are added: the answer never goes past the budget, and another
    # 12-word sentence would not fit.
    from rag.answerers.extractive import score_candidates
    from rag.answerers.fill import fill, words_of
    from rag.answerers.shape import Line
    from rag.settings import Settings

    sentences = [f"Release trains ship feature {w} to customers on a fixed weekly schedule."
                 for w in ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta",
                           "iota", "kappa", "lambda", "omicron", "sigma", "omega", "rho")]
    passages = [passage(" ".join(sentences[:8]), "x"), passage(" ".join(sentences[8:]), "y")]
    scored = score_candidates("How do release trains ship features?", passages, trust)
    best = max(scored, key=lambda c: c.score)
    lines = fill([Line([best])], scored, passages, frozenset({"how"}), budget=40)
    assert 40 - 12 < words_of(lines) <= 40
    extra = [(c.index, c.unit.start) for line in lines[1:] for c in line.parts]
    assert extra == sorted(extra) and Settings().extractive_words > 40


def test_fill_never_adds_items_of_a_list_that_answers_another_intent(trust) -> None:  # noqa: ANN001
    from rag.answerers.extractive import score_candidates
    from rag.answerers.fill import fill
    from rag.answerers.shape import Line

    text = ("Teams stop sharing their work. This is usually caused by a few things:\n\n"
            "1. Fear of being blamed for outages in public post mortems.\n"
            "2. Leaders who never share their own plans with the team.\n\n"
            "Here are some tactics to rebuild sharing with the team:\n\n"
            "1. Ask the team for an overview of how their system works.\n"
            "2. Offer to take on the tasks the team hates, like night shifts.\n")
    passages = [passage(text)]
    question = "How do I get a team to share its work again?"
    scored = score_candidates(question, passages, trust)
    first = next(c for c in scored if "overview" in c.unit.text)
    how = fill([Line([first])], scored, passages, frozenset({"how"}), 150)
    shown = " ".join(c.unit.text for line in how for c in line.parts)
    assert "Fear of being blamed" not in shown and "Leaders who never" not in shown
    assert "night shifts" not in shown  # shape.py chose this list's items; fill adds none
    why = fill([Line([first])], scored, passages, frozenset({"why"}), 150)
    assert "night shifts" not in " ".join(c.unit.text for line in why for c in line.parts)


def test_a_question_word_in_the_section_heading_lifts_its_sentences(trust) -> None:  # noqa: ANN001
    from rag.answerers.extractive import score_candidates

    text = "It finds coding errors early, when they are less costly to fix."
    passages = [passage(text, "a", "Applying the tool"), passage(text, "b", "Why static analysis")]
    scored = score_candidates("Why is static analysis useful?", passages, trust)
    assert scored[1].score > scored[0].score  # despite the retriever ranking passage 1 first


def test_with_sentences_cached_the_answer_encodes_only_the_question(trust) -> None:  # noqa: ANN001
    """Sentence vectors already in the cache (refusal step, checker, earlier questions) are
    reused and a paragraph is the mean of its sentences: no paragraph is encoded again."""
    from rag.answerers.extractive import extractive_answer
    from rag.answerers.structure import parts
    from rag.citations import VECTORS
    from rag.embedder import make_embedder
    from rag.text import units

    question = "What is a correlation ID and how should it be propagated?"
    embedder = make_embedder(trust)
    VECTORS.encode([u.text for p in CORRELATION for u in units(p.text)], embedder)
    encoded: list[str] = []
    original = embedder.encode

    def counting(texts):  # noqa: ANN001, ANN202 - the real MiniLM, counted
        encoded.extend(texts)
        return original(texts)

    embedder.encode = counting
    try:
        extractive_answer(question, CORRELATION, trust)
    finally:
        embedder.encode = original
    assert set(encoded) <= {question, *parts(question)}, encoded  # the question and its parts


def test_a_list_announced_at_the_end_of_a_passage_continues_from_the_next_chunk(trust) -> None:  # noqa: ANN001
    from rag.answerers.extractive import extractive_answer

    passages = [
        passage("Strong passwords keep accounts safe. Follow the steps below to create a strong "
                "password:", "passwords", "Creating a password", 0),
        passage("Badges are printed in room 1217. Bring an identity document to the office.",
                "badges", "Badges", 0),
        passage("- Use a password manager to generate it.\n- Use a different password for every "
                "account.\n- Make it longer rather than more complex.\n\nAsk in #security "
                "when in doubt.", "passwords", "Creating a password", 1),
    ]
    answer = extractive_answer("How do I create a strong password?", passages, trust).answer
    lines = answer.splitlines()
    announce = next(i for i, line in enumerate(lines) if "steps below" in line)
    assert [line for line in lines[announce + 1: announce + 4]] == [
        "- Use a password manager to generate it. [3]",
        "- Use a different password for every account. [3]",
        "- Make it longer rather than more complex. [3]"], answer


def test_a_sentence_of_a_passage_retrieved_far_below_the_best_does_not_pad_the_answer(
        trust) -> None:  # noqa: ANN001
    # The 18f handbook's "I just had a baby" answer quoted a self-care tip ("...if you have
    # small children/babies...") from a passage whose cosine was 0.20 beside the leave
    # article's 0.54: a sentence's own similarity ignored how well its passage matched.
    from answers_common import passage

    from rag.answerers.extractive import extractive_answer

    leave = ("You are entitled to 12 weeks of paid time off for the birth, adoption or "
             "placement of a new child. It can be taken all at once or intermittently. "
             "Refer to the Paid Parental Leave page for more information.")
    care = ("Engaging in positive self-care activities, along with frequent check-ins with your "
            "supervisor and peers, will go a long way in building your confidence. Make sure "
            "you are eating and sleeping well (accounting for the fact that if you have one or "
            "more small children/babies, this is incredibly hard - I know, I have been through "
            "it!) and getting some semblance of exercise.")
    passages = [passage(leave, "leave", "Paid Parental Leave", score=0.54),
                passage(care, "self-care", "Be patient with yourself", score=0.20)]
    answer = extractive_answer("I just had a baby, how much time off do I get?", passages,
                               trust, fetch=False).answer
    assert "12 weeks of paid time off" in answer, answer
    assert "[2]" not in answer, answer


def test_a_one_sentence_answer_is_not_padded_with_the_next_best_unrelated_sentence(
        trust) -> None:  # noqa: ANN001
    # A second sentence used to be quoted whatever it scored: the watering question got an
    # onboarding tip from another article (and, in tests/test_hostile.py, an injected line of
    # the plants article itself).
    from answers_common import passage

    from rag.answerers.extractive import extractive_answer

    plants = ("Water the office plants every Friday and keep them out of direct sun.\n\n"
              "The kitchen fridge is emptied on the last working day of the month.")
    onboarding = "Give them a starter task that touches the deploy pipeline."
    passages = [passage(plants, "office", "Office", score=0.53),
                passage(onboarding, "onboarding", "First week", score=0.16)]
    answer = extractive_answer("How often should the office plants be watered?", passages,
                               trust, fetch=False)
    assert [s.text for s in answer.sentences] == [
        "Water the office plants every Friday and keep them out of direct sun."], answer.answer
