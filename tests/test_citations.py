"""The citation checker: splitting, parsing [n], support scores with the real MiniLM, verify()."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.citations import parse_answer, support_score, supports, verify
from rag.text import split_sentences, units

TRUST = (
    "There is no silver bullet, but here are some tactics:\n\n"
    "1. Assume positive intent - assume the team is making decisions with the best of intent.\n"
    "1. Get in the trenches - offer to join the war rooms even if you don't have to.\n\n"
    "Trust is built more by asking for help rather than giving help."
)
REVIEWS = (
    "Keep the change small. A reviewer can hold about 400 lines in their head; beyond that "
    "defects slip through. Reviews should start within one working day."
)
PASSAGES = [TRUST, REVIEWS]


@pytest.fixture(scope="module")
def embedder():  # noqa: ANN201
    from rag.citations import default_embedder

    return default_embedder()


def test_split_sentences_keeps_abbreviations_and_spans() -> None:
    text = "Use tools, e.g. linters. Then ask why! Done?"
    spans = split_sentences(text)
    assert [text[a:b] for a, b in spans] == ["Use tools, e.g. linters.", "Then ask why!", "Done?"]


def test_a_closing_quote_or_bracket_stays_with_its_sentence() -> None:
    # 18F: 'This isn't "within an hour of happening" but "within one hour of you becoming aware
    # of the incident."' was quoted without its closing quote
    text = 'It means "within one hour of you becoming aware." (See the guide.) Then act.'
    assert [text[a:b] for a, b in split_sentences(text)] == [
        'It means "within one hour of you becoming aware."', "(See the guide.)", "Then act."]


@given(st.text(alphabet="ab .!?\n\")", max_size=60))
def test_sentence_spans_are_ordered_non_empty_and_inside(text: str) -> None:
    spans = split_sentences(text)
    assert all(0 <= a < b <= len(text) for a, b in spans)
    assert all(b1 <= a2 for (_, b1), (a2, _) in zip(spans, spans[1:], strict=False))
    assert all(text[a:b].strip() == text[a:b] for a, b in spans)


def test_units_mark_list_items_and_skip_code_and_headings() -> None:
    text = "# Title\n\nIntro line:\n\n- First item. More.\n- Second\n\n```\ncode here.\n```\n"
    found = units(text)
    assert [u.text for u in found] == ["Intro line:", "First item.", "More.", "Second"]
    assert [u.list_item for u in found] == [False, True, False, True]
    assert all(text[u.start:u.end] == u.text for u in found)


def test_a_footnote_definition_is_a_unit_without_its_label() -> None:
    text = "Meet weekly.[^1]\n\n[^1]: Vacations are an exception. Skip that week.\n"
    found = units(text)
    assert [u.text for u in found] == [
        "Meet weekly.[^1]", "Vacations are an exception.", "Skip that week."]
    assert all(text[u.start:u.end] == u.text for u in found)
    assert found[1].block != found[0].block and not found[1].list_item


def test_blockquote_markers_are_not_words_of_a_unit() -> None:
    # 18F's contractors page quotes a policy over several "> " lines; an answer quoted
    # "Compliance with this policy should > be addressed" and a unit "> > … > > All…".
    text = ("> Authorized users are employees of GSA. Compliance with this policy should\n"
            "> be addressed in Statements of Work.\n>\n> …\n>\n> > - A quoted item\n"
            "Plain text after.\n")
    found = units(text)
    assert [u.text for u in found] == [
        "Authorized users are employees of GSA.",
        "Compliance with this policy should be addressed in Statements of Work.",
        "A quoted item", "Plain text after."]
    assert [u.list_item for u in found] == [False, False, True, False]
    assert text[found[0].start:found[0].end] == found[0].text
    assert text[found[1].start:found[1].end].endswith("Statements of Work.")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Assume positive intent [1]. Ask for help [2].", [("Assume positive intent.", [1]),
                                                         ("Ask for help.", [2])]),
        ("Assume positive intent. [1] Ask for help. [1, 2]", [("Assume positive intent.", [1]),
                                                              ("Ask for help.", [1, 2])]),
        ("- Join war rooms [1][3]\n- Keep changes small", [("Join war rooms", [1, 3]),
                                                          ("Keep changes small", [])]),
    ],
)
def test_parse_answer_attaches_numbers_to_their_sentence(answer: str, expected: list) -> None:
    assert [(c.text, c.cited) for c in parse_answer(answer)] == expected


def test_supported_claim_scores_above_unsupported(embedder) -> None:  # noqa: ANN001
    good = support_score("Assume the team makes decisions with the best intent.", TRUST, embedder)
    bad = support_score("Reviews should start within one working day.", TRUST, embedder)
    assert good.score > bad.score + 0.3
    assert good.span is not None and "positive intent" in TRUST[good.span[0]:good.span[1]]
    assert supports("Reviews should start within one working day.", REVIEWS, embedder)
    assert not supports("Reviews should start within one working day.", TRUST, embedder)
    assert not supports("Paris is the capital of France.", TRUST, embedder)


def test_verify_keeps_supported_citation(embedder) -> None:  # noqa: ANN001
    [checked] = verify("Offer to join the war rooms even if you don't have to [1].", PASSAGES,
                       embedder)
    assert checked.verified and checked.citations == [1] and not checked.reattributed
    start, end = checked.spans[1]
    assert "war rooms" in TRUST[start:end]


def test_verify_reattributes_a_wrong_citation(embedder) -> None:  # noqa: ANN001
    [checked] = verify("A reviewer can hold about 400 lines in their head [1].", PASSAGES,
                       embedder)
    assert checked.verified and checked.citations == [2] and checked.reattributed


def test_verify_drops_out_of_range_and_unsupported(embedder) -> None:  # noqa: ANN001
    checked = verify(
        "Trust is built by asking for help [7]. The moon is made of cheese and owls [1].",
        PASSAGES, embedder,
    )
    first, second = checked
    assert first.invalid == [7] and first.citations == [1] and first.verified
    assert not second.verified and second.citations == [] and second.invalid == []


def test_verify_never_cites_a_passage_that_was_not_given(embedder) -> None:  # noqa: ANN001
    checked = verify("Keep the change small [3]. Reviews start within a day [0].", PASSAGES,
                     embedder)
    assert all(set(c.citations) <= {1, 2} for c in checked)
    assert [c.invalid for c in checked] == [[3], [0]]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["Keep the change small", "Trust is built by asking",
                                           "Owls rule the moon", "Join the war rooms"]),
                          st.lists(st.integers(-2, 9), max_size=3)), min_size=1, max_size=4))
def test_checked_citations_are_always_retrieved_passages(embedder, parts) -> None:  # noqa: ANN001
    text = " ".join(f"{s}{''.join(f'[{n}]' for n in ns)}." for s, ns in parts)
    for checked in verify(text, PASSAGES, embedder):
        assert set(checked.citations) <= {1, 2}
        assert checked.verified == bool(checked.citations)
        assert all(n not in (1, 2) for n in checked.invalid)


# --- the stricter checks (rag.claims) and verify()'s repeats / filler -------------------------

ARTICLE = (
    "So a lot of tech teams, particularly those that have been together for a while, can be "
    "very closed off to others.\n\n"
    "1. Assume positive intent - assume the team is making decisions with the best of intent.\n"
    "1. Get in the trenches - offer to join the war rooms even if you don't have to.\n\n"
    "Trust is built more by asking for help rather than giving help. Reviews should start "
    "within one working day, and KeePassXC runs on Linux."
)


@pytest.mark.parametrize(
    ("claim", "reason"),
    [
        ("Trust is built more by giving help rather than asking for help.", "comparison"),
        ("Do not assume positive intent when the team decides.", "negation"),
        ("Tech teams that have been together for a while are very open to others.", "antonym"),
        ("Reviews should start within three working days.", "number"),
        ("Reviews should start within one working day and end within 48 hours.", "number"),
        ("Reviews should start within one working day, and Bitwarden runs on Linux.", "name"),
        ("Offer to join the war rooms, and ask the manager to pay you a bonus for each incident.",
         "drift novel"),
        ("It depends on the team.", "filler"),
    ],
)
def test_rules_reject_reversals_changed_facts_tails_and_filler(
    embedder, claim: str, reason: str  # noqa: ANN001
) -> None:
    support = support_score(claim, ARTICLE, embedder)
    assert support.reason in reason.split(), support
    assert not supports(claim, ARTICLE, embedder)


@pytest.mark.parametrize(
    "claim",
    [
        "Trust is built more by asking for help rather than giving help.",
        "Trust comes more from asking for help than from giving it.",
        "Assume the team makes its decisions with the best of intent.",
        "Offer to join the war rooms even if you don't have to.",
        "Reviews should start within 1 working day.",
    ],
)
def test_faithful_claims_pass_the_rules(embedder, claim: str) -> None:  # noqa: ANN001
    support = support_score(claim, ARTICLE, embedder)
    assert support.ok(0.0) and supports(claim, ARTICLE, embedder), support


def test_clauses_split_at_connectives_and_keep_short_pieces_attached() -> None:
    from rag.claims import clauses

    assert clauses("Join the war rooms, and ask the manager for a bonus because it pays the "
                   "bills; it helps.") == [
        "Join the war rooms", "and ask the manager for a bonus",
        "because it pays the bills it helps."]
    assert clauses("Assume positive intent.") == ["Assume positive intent."]


def test_numbers_read_digits_and_words() -> None:
    from rag.claims import changed_number, numbers

    assert numbers("over six staff or above ten thousand dollars ($10,000), 3 servers") >= {
        "6", "10000", "3"}
    assert not changed_number("It costs ten thousand dollars.", "It costs $10,000.")
    assert changed_number("Keep 500 users.", "Keep 250 users.")


def test_verify_drops_repeats_and_near_duplicates_but_not_reversals(embedder) -> None:  # noqa: ANN001
    text = ("Offer to join the war rooms even if you don't have to [1]. "
            "Trust is built more by asking for help rather than giving help [1]. "
            "Offer to join the war rooms even if you don't have to [1]. "
            "Offer to join the war rooms, even if you do not have to [1]. "
            "Trust is built more by giving help rather than asking for help [1].")
    checked = verify(text, [ARTICLE], embedder)
    assert [c.text for c in checked] == [
        "Offer to join the war rooms even if you don't have to.",
        "Trust is built more by asking for help rather than giving help.",
        "Trust is built more by giving help rather than asking for help."]
    assert [c.repeats for c in checked] == [2, 0, 0]
    assert [c.verified for c in checked] == [True, True, False]
    assert checked[2].reason == "comparison"


def test_verify_never_verifies_filler(embedder) -> None:  # noqa: ANN001
    [filler] = verify("It depends on the team [1].", [ARTICLE], embedder)
    assert not filler.verified and filler.citations == [] and filler.reason == "filler"


def test_thresholds_come_from_settings() -> None:
    from rag.citations import DEFAULTS, Thresholds
    from rag.settings import Settings

    assert Thresholds.from_settings(Settings.model_validate({})) == DEFAULTS
    custom = Thresholds.from_settings(Settings.model_validate({"support_threshold": 0.9}))
    assert custom.score == 0.9 and custom.embed_weight == DEFAULTS.embed_weight


# --- sentence-level vetoes from the word alignment (rag.alignment), the learned model, cost ----

POLICY = (
    "In short, reviews are most useful when they are not rushed by a deadline.\n\n"
    "The service must handle a minimum of 250 concurrent users and at least 500 requests per "
    "second.\n\n"
    "Prefer the hosted runner for builds and the local runner for experiments."
)


@pytest.mark.parametrize(
    ("claim", "reason"),
    [
        # a negation dropped inside a copied sentence, its word replaced by a near-synonym
        ("In short, reviews are most useful when they are hurried by a deadline.", "negation"),
        # 500 occurs in the passage, but it counts requests, not users
        ("The service must handle a minimum of 500 concurrent users.", "number"),
        # two words exchanged between the halves of a copied sentence
        ("Prefer the local runner for builds and the hosted runner for experiments.", "swap"),
        # the reversal sits in a short last clause: caught on the whole sentence
        ("So a lot of tech teams, particularly those that have been together for a while, "
         "are very open to others.", "antonym"),
    ],
)
def test_alignment_vetoes_edits_of_a_copied_sentence(
    embedder, claim: str, reason: str  # noqa: ANN001
) -> None:
    passage = POLICY if "tech teams" not in claim else ARTICLE
    support = support_score(claim, passage, embedder)
    assert support.reason == reason and support.vetoed, support
    assert not supports(claim, passage, embedder)


def test_alignment_reads_edits_not_copies() -> None:
    from rag.alignment import changed_count, diff

    source = "Prefer the hosted runner for builds and the local runner for experiments."
    copy = diff("Prefer the hosted runner for builds.", source)
    assert copy.copied == 1.0 and not (copy.negation or copy.swap) and copy.substituted == 0
    changed = diff("Prefer the hosted runner for releases and the local runner for experiments.",
                   source)
    assert changed.substituted == 1 and not changed.swap
    assert not changed_count("Handle 250 concurrent users.", POLICY)
    assert not changed_count("Handle 250 users and 500 requests per second.", POLICY)


@pytest.mark.parametrize(
    "claim",
    [
        "In short, reviews are most useful when they are not rushed by a deadline.",
        "The service must handle at least 500 requests per second.",
        "Prefer the hosted runner for builds.",
    ],
)
def test_faithful_copies_pass_the_alignment_vetoes(embedder, claim: str) -> None:  # noqa: ANN001
    support = support_score(claim, POLICY, embedder)
    assert not support.vetoed and supports(claim, POLICY, embedder), support


def test_learned_model_is_selectable_and_rejects_an_invented_tail(embedder) -> None:  # noqa: ANN001
    from dataclasses import replace

    from rag.citations import DEFAULTS

    learned = replace(DEFAULTS, model="learned")
    assert learned.limit == DEFAULTS.learned and DEFAULTS.model == "learned"
    copy = support_score("Offer to join the war rooms even if you don't have to.", ARTICLE,
                         embedder, learned)
    tail = support_score("Offer to join the war rooms, and ask the manager to pay you a bonus "
                         "for each incident.", ARTICLE, embedder, learned)
    assert 0 < tail.score < learned.limit <= copy.score <= 1  # a copy scores 1 by rule
    paraphrase = support_score("Volunteer for the war rooms even when nobody requires it.",
                               ARTICLE, embedder, learned)
    assert 0 < paraphrase.score < 1  # the model's P, not the copy rule
    assert copy.ok(learned.limit) and not tail.ok(learned.limit) and tail.reason in (
        "novel", "drift")


class CountingEmbedder:
    """The real embedder, counting the texts each model call receives."""

    def __init__(self, inner) -> None:  # noqa: ANN001
        self.inner, self.calls = inner, []

    def encode(self, texts):  # noqa: ANN001, ANN201
        self.calls.append(list(texts))
        return self.inner.encode(texts)


@pytest.mark.parametrize("model", ["rules", "learned"])
def test_verify_encodes_each_new_sentence_once_and_nothing_it_has_seen(embedder, model) -> None:  # noqa: ANN001
    """One model call for the answer's sentences (under the learned model, with their clauses:
    it reads each clause's own cosine), none for what is cached."""
    from dataclasses import replace

    from rag.citations import DEFAULTS, VECTORS
    from rag.support import claim_text

    limits = replace(DEFAULTS, model=model)
    counting = CountingEmbedder(embedder)
    VECTORS.encode([u.text for p in PASSAGES for u in units(p)], counting)  # passages warm
    counting.calls.clear()
    text = ("Offer to join the war rooms, even if you don't have to [1]. Keep the change small, "
            "because a reviewer can hold about 400 lines in their head [2]. Owls rule the moon "
            "[1].")
    verify(text, PASSAGES, counting, thresholds=limits)
    assert len(counting.calls) == 1, counting.calls
    sent = counting.calls[0]
    assert len(set(sent)) == len(sent) and not set(sent) & {
        u.text for p in PASSAGES for u in units(p)}
    claims = [claim_text(c.text) for c in parse_answer(text)]
    assert set(claims) <= set(sent)  # the three sentences, once each
    assert len(sent) == 3 if model == "rules" else len(sent) > 3  # + clauses
    verify(text, PASSAGES, counting, thresholds=limits)  # the same answer: no model call at all
    assert len(counting.calls) == 1


def test_verify_embeds_no_sentence_a_veto_rejects_against_every_passage(embedder) -> None:  # noqa: ANN001
    from rag.citations import VECTORS

    counting = CountingEmbedder(embedder)
    VECTORS.encode([u.text for p in PASSAGES for u in units(p)], counting)  # passages warm
    counting.calls.clear()
    vetoed = "A reviewer can hold about 900 lines in their head"  # a number no passage has
    text = f"Offer to join the war rooms [1]. {vetoed} [2]. Owls rule the moon [2]."
    checked = verify(text, PASSAGES, counting)
    assert [c.verified for c in checked] == [True, False, False]
    assert checked[1].reason == "number"
    assert len(counting.calls) == 1, counting.calls  # one model call for the answer
    assert not any("900" in t for t in counting.calls[0]) and len(counting.calls[0]) == 2
