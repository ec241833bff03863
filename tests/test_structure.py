"""Passage structure (lists, lead-ins, closing rules), question intent and the draft guard:
pure functions, checked on small real Markdown snippets of the kinds the corpora hold."""

from __future__ import annotations

import pytest

from rag.answerers.draft import Draft
from rag.answerers.structure import POINTER, conflicts, intents, kind_of, parse

CAUSES_THEN_TACTICS = """Teams close up. This usually happens because of a few things:

1. Fear of blame. People have been burned before.
1. No time to talk.

Some teams also just like being alone.

Here are some steps that help:

- Ask questions. Listen to the answers.
- Share your own work
   - even the unfinished parts
- Show up to their meetings

A team opens up when it is asked for help.
"""


def test_lists_get_lead_in_items_closing_and_kind() -> None:
    causes, steps = parse(CAUSES_THEN_TACTICS)
    assert causes.kind == "cause" and steps.kind == "action"
    assert [u.text for u in causes.lead][-1].endswith("a few things:")
    assert [item[0].text for item in causes.items] == ["Fear of blame.", "No time to talk."]
    assert [u.text for u in causes.items[0]] == ["Fear of blame.",
                                                 "People have been burned before."]
    assert [u.text for u in causes.closing] == ["Some teams also just like being alone."]
    assert len(steps.items) == 3  # the nested bullet belongs to its parent item
    assert steps.items[1][-1].text == "even the unfinished parts"
    assert [u.text for u in steps.closing] == ["A team opens up when it is asked for help."]


def test_a_remark_between_an_announcing_sentence_and_its_list_stays_in_the_lead_in() -> None:
    # 18F's security-incidents page: the steps are announced, then a "Please note" paragraph
    text = ("To report a security incident, follow _all_ of the steps below:\n\n"
            "Please note that incidents need to be reported within one hour. So act fast.\n\n"
            "1. Send an email to the IT service desk.\n1. Check the response plan.\n")
    (steps,) = parse(text)
    assert [u.text for u in steps.lead] == [
        "To report a security incident, follow _all_ of the steps below:",
        "Please note that incidents need to be reported within one hour.", "So act fast."]
    assert steps.kind == "action" and len(steps.items) == 2
    # without the announcing colon, the paragraph before the remark is not the list's
    (plain,) = parse(text.replace("steps below:", "steps."))
    assert [u.text for u in plain.lead][0].startswith("Please note")


def test_a_heading_is_the_lead_in_of_a_list_without_one() -> None:
    text = "Intro paragraph about alerts.\n\n## Best Practices\n\n- Do this.\n- Do that.\n"
    (block,) = parse(text)
    assert block.lead == [] and block.kind == "action"
    (plain,) = parse("- one\n- two\n", heading="Common pitfalls")
    assert plain.kind == "cause"


def test_a_long_paragraph_after_a_list_is_not_its_closing_rule() -> None:
    long = " ".join(["This paragraph starts a new topic with many words."] * 6)
    (block,) = parse(f"Tips:\n\n- one\n- two\n\n{long}\n")
    assert block.closing == []


SPIKE = """Generally the deliverable is a document. There are some general principles:

- **Goals:** Say why the evaluation is done.

- **Make it repeatable:** Detail the components used.

    There are many reasons to rebuild the environment. For example:

  - Another scenario needs to be tested.
  - A new version has been released.

- **Fact-Finding:** The goal is fact-finding, not decision-making.
"""


def test_an_indented_paragraph_and_its_nested_list_stay_inside_their_item() -> None:
    (block,) = parse(SPIKE)
    assert [item[0].text for item in block.items] == [
        "**Goals:** Say why the evaluation is done.",
        "**Make it repeatable:** Detail the components used.",
        "**Fact-Finding:** The goal is fact-finding, not decision-making."]
    assert [u.text for u in block.items[1]][-1] == "A new version has been released."


@pytest.mark.parametrize(("question", "expected"), [
    ("How do I approach a tribal team?", {"how"}),
    ("Why are some tech teams closed off to outsiders?", {"why"}),
    ("Why do teams close off, and what tactics help break down the barriers?", {"why", "how"}),
    ("What does the playbook mean by dead bodies?", {"what"}),
    ("Should I commiserate with a team to gain its trust?", {"should"}),
    ("I'm tempted to grumble along with my team. Is that OK?", {"should"}),
    ("Where do I start?", {"how"}),
    ("What are the two kinds of shared experiences?", {"list"}),
    ("What are best practices for alerting?", {"how", "list"}),
    ("How should risks be managed in an agile project?", {"how"}),
    ("How can software be made portable across environments?", {"how"}),
    ("How do earlier post-mortems that assigned blame affect how open a group is?", set()),
    ("How long does a Top Secret clearance take?", set()),
])
def test_question_intents(question: str, expected: set[str]) -> None:
    assert set(intents(question)) == expected


@pytest.mark.parametrize(("lead", "kind"), [
    ("this is usually caused by one or a couple of things:", "cause"),
    ("here are some tactics i've used in the past to break down the barriers:", "action"),
    ("Common pitfalls", "cause"),
    ("You build relationships by having shared experiences.", "other"),
    ("Best practices to avoid these problems:", "action"),
])
def test_list_kind_from_its_lead_in(lead: str, kind: str) -> None:
    assert kind_of(lead) == kind


def test_only_lists_of_another_intent_conflict() -> None:
    assert conflicts("cause", frozenset({"how"})) and not conflicts("cause", frozenset({"why"}))
    assert conflicts("action", frozenset({"why"}))
    assert not conflicts("cause", frozenset({"how", "why"}))
    assert not conflicts("other", frozenset({"how"}))


def test_draft_stops_on_a_repeated_sentence_and_keeps_the_first() -> None:
    draft = Draft()
    pieces = "Ask for help [1]. Listen intently [1]. Ask for help [1]. And more".split(" ")
    stopped_at = next(i for i, p in enumerate(pieces) if not draft.add(p + " "))
    assert pieces[stopped_at] == "[1]." and stopped_at < len(pieces) - 1
    assert draft.text() == "Ask for help [1]. Listen intently [1]."


def test_draft_stops_on_a_word_loop_and_ends_on_a_sentence() -> None:
    draft = Draft()
    loop = "the team is making decisions with the best of intent "
    assert draft.add("Assume positive intent. " + loop) and not draft.add(loop)
    assert draft.text() == "Assume positive intent."
    cut = Draft()
    cut.add("A finished sentence [2]. An unfinished one that ran out of tok")
    assert cut.text() == "A finished sentence [2]."


@pytest.mark.parametrize(("text", "pointer"), [
    ("See the transit benefit page.", True),
    ("This page outlines how to sign up for benefits.", True),
    ("[GSA Telework and Remote Work Policy](https://www.gsa.gov/directives)", True),
    ("- [Leave](https://example.org/leave).", True),
    ("[What is Scrum?](https://example.org/what is scrum) !", True),  # a space in the target
    ("[](https://example.org/leave)", True),
    ("Read the [policy](https://example.org) before you travel.", False),
    ("Use [Slack](https://slack.com) for quick questions.", False),
    ("Annual leave accrues at 4 hours per pay period.", False),
])
def test_pointer_sentences_and_bare_links_are_recognised(text: str, pointer: bool) -> None:
    # A line that only names where the answer is (or is only a link) answers nothing.
    assert bool(POINTER.match(text)) is pointer
