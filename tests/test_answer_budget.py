"""A short answer: the word budget (rag/answerers/fill.py, rag/answerers/budget.py).

Real text through the real MiniLM scoring; each case fails when its rule is undone: fill adding
a unit that overshoots, trim keeping a long list whole, trim hiding items before asides, the
"… N more" line losing the hidden items' names.
"""

from __future__ import annotations

import re

import pytest
from answers_common import passage

ITEMS = [
    ("Redundant Systems", "deploying duplicate hardware and software systems that can take over "
                          "if the primary system fails without any interruption."),
    ("Load Balancing", "distributing incoming network traffic across multiple servers so that no "
                       "single server becomes a bottleneck during peak hours."),
    ("Failover Mechanisms", "implementing automatic failover processes that switch operations "
                            "to a backup system when a failure is detected."),
    ("Clustering", "using a group of servers that work together to provide one service, so "
                   "that the loss of one server does not stop the service."),
    ("Geographic Distribution", "placing copies of data and services in multiple, "
                                "geographically dispersed data centers across regions."),
    ("Data Replication", "continuously copying and synchronizing data across multiple locations "
                         "so that every copy stays current."),
    ("Health Monitoring", "watching every component with probes and alerts so that a failing "
                          "part is found and replaced before users notice it."),
]
LONG_LIST = ("Designing for high availability involves several strategies that keep a system "
             "operational. Here are some of them:\n\n"
             + "".join(f"- {name}: {text[0].upper()}{text[1:-1]}, as the service owners review "
                       f"it with the team every quarter.\n" for name, text in ITEMS))


def shown_words(answer: str) -> int:
    return len(re.sub(r"\[\d+\]", "", answer).split())


def test_a_long_list_gives_its_first_items_and_names_the_rest(trust) -> None:  # noqa: ANN001
    from rag.answerers.budget import MIN_ITEMS
    from rag.answerers.extractive import extractive_answer
    answer = extractive_answer("How can a system be designed for high availability?",
                               [passage(LONG_LIST, "availability", "Strategies")], trust).answer
    assert shown_words(answer) <= trust.extractive_words, answer
    bullets = [line for line in answer.splitlines() if line.startswith("- ")]
    more = [line for line in bullets if line.startswith("- … ")]
    assert len(more) == 1 and more[0].endswith("[1]"), answer
    shown = bullets[: bullets.index(more[0])]
    assert MIN_ITEMS <= len(shown) < len(ITEMS), answer
    # the first items in order, then the others by name, in order
    assert [line.split(":")[0][2:] for line in shown] == [n for n, _ in ITEMS[: len(shown)]]
    hidden = [n for n, _ in ITEMS[len(shown):]]
    assert more[0] == f"- … {len(hidden)} more: {'; '.join(hidden)} [1]", answer


def test_an_aside_goes_before_any_item_of_the_list(trust) -> None:  # noqa: ANN001
    from rag.answerers.budget import trim
    from rag.answerers.extractive import score_candidates
    from rag.answerers.fill import words_of
    from rag.answerers.shape import Line

    aside = ("High availability matters most for services whose interruption costs money. "
             "Teams often measure it as the share of time a service is up.")
    passages = [passage(LONG_LIST, "availability", "Strategies"),
                passage(aside, "availability", "Why", 1)]
    scored = score_candidates("How can a system be designed for high availability?", passages,
                              trust)
    items = [c for c in scored if c.index == 0 and c.unit.list_item]
    lead = next(c for c in scored if c.index == 0 and not c.unit.list_item)
    asides = [c for c in scored if c.index == 1]
    lines = [Line([lead]), *(Line([c], bullet=True) for c in items), *(Line([c]) for c in asides)]
    budget = words_of(lines) - 5  # one aside less is enough
    cut = trim(lines, budget)
    assert words_of(cut) <= budget
    assert sum(line.bullet for line in cut) == len(items)  # every item still shown
    assert sum(not line.bullet for line in cut) == 2  # the lead-in and one aside


def test_nothing_is_cut_when_the_answer_fits(trust) -> None:  # noqa: ANN001
    from rag.answerers.budget import trim
    from rag.answerers.extractive import score_candidates
    from rag.answerers.fill import words_of
    from rag.answerers.shape import Line

    scored = score_candidates("How can a system be designed for high availability?",
                              [passage(LONG_LIST, "availability", "Strategies")], trust)
    lines = [Line([c], bullet=c.unit.list_item) for c in scored]
    assert trim(lines, words_of(lines)) == lines


def test_the_tribal_team_answer_is_not_shortened(trust) -> None:  # noqa: ANN001
    # The bundled article's answer (five tactics and the closing rule) is within the budget.
    from rag.api import ask

    answer = ask("How do I approach a tribal team?", trust).answer
    assert "… " not in answer and sum(line.startswith("- ") for line in answer.splitlines()) == 5
    assert "asking for help rather than giving help" in answer, answer


@pytest.mark.parametrize(("text", "label"), [
    ("**Trust-based**: Is this a task that absolutely cannot be missed?", "Trust-based"),
    ("[Sprint planning](../ceremonies.md#sprint-planning)", "Sprint planning"),
    ("Load Balancing: Distributing incoming network traffic.", "Load Balancing"),
    ("Assume positive intent in every conversation.", ""),
    ("When you are called to jury duty, note this: your absence is Court Leave.", ""),
])
def test_an_items_name_is_its_bold_lead_link_text_or_words_before_its_colon(
    text: str, label: str,
) -> None:
    from rag.answerers.structure import label_of

    assert label_of(text) == label


DONE = """# Definition of Done

## Checking a story

To close a user story it is important to verify that its tasks are complete. \
Below are some examples of checks to verify that the user story is completed.

### Feature checks

- [ ] Acceptance criteria are met
- [ ] Unit tests are written and pass
- [ ] Code review is complete
- [ ] Documentation is updated
- [ ] The feature is signed off by the product owner
"""


def test_a_list_announced_at_a_passage_end_is_fetched_from_the_next_chunk(tmp_path) -> None:  # noqa: ANN001,E501
    # The chunker put the checks in the next chunk; the retriever gave only the announcing one.
    from answers_common import build_index

    from rag.answerers.extractive import extractive_answer
    from rag.index import load_index
    from rag.retrieve import Passage

    source = tmp_path / "src"
    source.mkdir()
    (source / "done.md").write_text(DONE)
    settings = build_index(tmp_path / "built", source)
    chunks = next(iter(load_index(settings).by_article.values()))
    announcing = next(c for c in chunks if "Below are some examples" in c.text)
    assert "Acceptance criteria" not in announcing.text  # the list is in the next chunk
    answer = extractive_answer("What checks say a user story is done?",
                               [Passage([announcing], 0.6, 0.6)], settings)
    items = [line for line in answer.answer.splitlines() if line.startswith("- ")]
    assert len(items) == 5 and all(line.endswith("[2]") for line in items), answer.answer
    assert "Acceptance criteria are met" in items[0] and "signed off" in items[-1]
    assert [c.n for c in answer.citations] == [1, 2]
    assert "Acceptance criteria" in answer.citations[1].text
    # what a model phrases cites only the passages the model is given
    from rag.answerers.generative import quoted_block

    assert "[2]" not in quoted_block("What checks say a user story is done?",
                                     [Passage([announcing], 0.6, 0.6)], settings)


def test_a_next_chunk_without_the_list_is_not_added_as_a_source(tmp_path) -> None:  # noqa: ANN001
    from answers_common import build_index

    from rag.answerers.extractive import extractive_answer
    from rag.index import load_index
    from rag.retrieve import Passage

    source = tmp_path / "src"
    source.mkdir()
    text = DONE.replace("### Feature checks\n\n", "### Feature checks\n\nAsk the team first.\n\n")
    (source / "done.md").write_text(text)
    settings = build_index(tmp_path / "built", source)
    chunks = next(iter(load_index(settings).by_article.values()))
    announcing = next(c for c in chunks if "Below are some examples" in c.text)
    answer = extractive_answer("What checks say a user story is done?",
                               [Passage([announcing], 0.6, 0.6)], settings)
    assert [c.n for c in answer.citations] == [1], answer.answer


def test_the_same_advice_copied_into_two_articles_is_quoted_once(trust) -> None:  # noqa: ANN001
    # Seen on 18f: one sentence in two pages, one spelled with escaped dashes ("\-").
    from rag.answerers.extractive import extractive_answer

    advice = ("For unplanned leave, such as a sudden illness or a family emergency, contact your "
              "supervisor, and they can help manage the rest on your behalf.")
    copy = advice.replace(", such as", r" \- such as").replace("emergency,", r"emergency \-")
    passages = [passage(f"{advice} Submit an absence request whenever you are out.", "hr-links"),
                passage(f"{copy} Submit leave requests three business days in advance.",
                        "going-out-of-office")]
    answer = extractive_answer("What should I do when I have unplanned leave?", passages,
                               trust).answer
    assert answer.count("sudden illness") == 1, answer
    assert "[1]" in answer.split("sudden illness")[1].split("\n")[0], answer  # the first copy


def test_a_list_item_that_repeats_a_paragraph_stays_in_its_list() -> None:
    from rag.answerers.extractive import Candidate
    from rag.answerers.fill import drop_repeats
    from rag.answerers.shape import Line
    from rag.text import Unit

    def line(text: str, bullet: bool = False, at: int = 0) -> Line:
        return Line([Candidate(0, Unit(text, at, at + len(text), bullet, at), text)], bullet)

    funeral = "Veterans can take funeral leave for a funeral of a member of the Armed Forces."
    lines = [line(funeral), line("There are four types of leave for veterans:", at=100),
             line("Funeral leave for veterans for a funeral of a member of the Armed Forces.",
                  True, 200),
             line("Military leave for active duty.", True, 300),
             line("Between 3 and 15 years: 6 hours per pay period.", True, 500),
             line("15+ years: 8 hours per pay period.", True, 600),
             line("Funeral leave: veterans can take it for a funeral of a member of the Armed "
                  "Forces.", at=700)]
    kept = [ln.parts[0].unit.text for ln in drop_repeats(lines)]
    # the item stays in its list; the paragraph that repeats the first paragraph goes; an item
    # whose only new word is a one-digit number is new
    assert kept == [ln.parts[0].unit.text for ln in lines[:-1]]


def test_the_word_budget_is_a_setting(trust) -> None:  # noqa: ANN001
    from rag.answerers.extractive import extractive_answer

    question = "How can a system be designed for high availability?"
    passages = [passage(LONG_LIST, "availability", "Strategies")]
    short = extractive_answer(question, passages, trust.model_copy(
        update={"extractive_words": 60})).answer
    longer = extractive_answer(question, passages, trust.model_copy(
        update={"extractive_words": 400})).answer
    from rag.answerers.budget import MIN_ITEMS

    def items(answer: str) -> int:
        return sum(line.startswith("- ") and not line.startswith("- … ")
                   for line in answer.splitlines())

    # A tight budget cuts the list to its first MIN_ITEMS items (never fewer); a loose one lets
    # more of it through than the default does.
    assert items(short) == MIN_ITEMS and f"- … {len(ITEMS) - MIN_ITEMS} more:" in short, short
    default = extractive_answer(question, passages, trust).answer
    assert items(short) <= items(default) < items(longer), (default, longer)
