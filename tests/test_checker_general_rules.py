"""The checker's general reversal and changed-fact rules (issue 12, checker5): each rule on a
passage written here, not taken from evals/datasets/support.jsonl, with a faithful twin that
must pass, so a rule that stops firing or fires on everything fails a test."""

from __future__ import annotations

import pytest

from rag import alignment, antonyms, reversal
from rag.citations import support_score, supports
from rag.claims import changed_name, changed_number, numbers

PASSAGE = (
    "Run the database migration before deploying the new service. A failed health check "
    "sends traffic to the downstream replicas. Caching is likely to hide stale reads, so "
    "keep the cache small. See the [runbook](https://example.org/runbook/15xq6/v2) for the "
    "steps. Scale out the VMs when the queue grows past 300 messages."
)


@pytest.fixture(scope="module")
def embedder():  # noqa: ANN201
    from rag.citations import default_embedder

    return default_embedder()


@pytest.mark.parametrize(
    ("claim", "reason"),
    [
        ("Deploy the new service before running the database migration.", "comparison"),
        ("Run the database migration after deploying the new service.", "comparison"),
        ("The migration runs after the new service is deployed.", "comparison antonym"),
        ("A failed health check sends traffic to the upstream replicas.", "antonym substitution"),
        ("Caching is unlikely to hide stale reads.", "antonym"),
        ("A failed health check sends traffic to the standby replicas.", "substitution"),
        ("Scale out the VMs when the queue grows past 6 messages.", "number"),
    ],
)
def test_general_rules_reject_reversals_and_changed_facts(
    embedder, claim: str, reason: str  # noqa: ANN001
) -> None:
    support = support_score(claim, PASSAGE, embedder)
    assert support.reason in reason.split(), support
    assert not supports(claim, PASSAGE, embedder)


@pytest.mark.parametrize(
    "claim",
    [
        "Deploy the new service after running the database migration.",  # same order, reworded
        "Run the database migration before you deploy the new service.",
        "Caching is likely to hide stale reads.",
        "Scale out the VM's when the queue grows past 300 messages.",  # possessive of VMs
    ],
)
def test_faithful_twins_pass(embedder, claim: str) -> None:  # noqa: ANN001
    support = support_score(claim, PASSAGE, embedder)
    assert supports(claim, PASSAGE, embedder), support


def test_negative_prefix_needs_an_adjective_like_base() -> None:
    assert antonyms.negative_base("unlikely") == "likely"
    assert antonyms.negative_base("invalid") == "valid"
    assert antonyms.negative_base("disagree") == "agree"
    assert antonyms.negative_base("useless") == "useful"
    for word in ("inform", "improve", "import", "display", "unless", "index", "irate"):
        assert antonyms.negative_base(word) == "", word


def test_general_pairs_are_pairs_and_both_directions_count() -> None:
    assert len(antonyms.GENERAL) >= 200 and all(len(p) == 2 for p in antonyms.GENERAL)
    assert reversal.antonym_swap("Traffic goes to upstream replicas.",
                                 "Traffic goes to downstream replicas.")
    assert reversal.antonym_swap("Traffic goes to downstream replicas.",
                                 "Traffic goes to upstream replicas.")


def test_antonym_elsewhere_in_the_sentence_is_not_a_swap() -> None:
    source = "Memorize a few strong passwords, and keep a recovery method for forgetting one."
    assert not reversal.antonym_swap("You need to remember only a few strong passwords.", source)
    assert reversal.antonym_swap("Memorize a few weak passwords.", source)


def test_order_swap_reads_before_and_after_as_one_order() -> None:
    source = "Use your comp time before using annual leave."
    assert reversal.order_swap("Use annual leave before using your comp time.", source)
    assert reversal.order_swap("Use your comp time after using annual leave.", source)
    assert not reversal.order_swap("Use annual leave after using your comp time.", source)
    assert not reversal.order_swap("Before using annual leave, use your comp time.", source)


def test_substitution_needs_a_mostly_copied_sentence() -> None:
    copied = alignment.diff("Requests retry against the primary cluster quickly.",
                            "Requests retry against the secondary cluster quickly.")
    assert alignment.substitution(copied)
    loose = alignment.diff("Retries hit another cluster.",
                           "Requests retry against the secondary cluster quickly.")
    assert not alignment.substitution(loose)


def test_numbers_in_links_and_identifiers_are_not_numbers() -> None:
    assert numbers("See [docs](https://x.org/a/15xq6/page9) about K8s.") == set()
    assert numbers("Keep 300 messages, not 6.") == {"300", "6"}
    assert changed_number("The queue holds 6 messages.", PASSAGE)
    assert not changed_number("The queue grows past 300 messages.", PASSAGE)


def test_acronym_plural_and_possessive_name_the_same_thing() -> None:
    assert not changed_name("Scale out each VM's disk.", PASSAGE)
    assert changed_name("Scale out each VPC's disk.", PASSAGE)


def test_negation_scope_is_the_first_word_past_auxiliaries() -> None:
    passage = "Comp time expires one year after it is earned."
    assert not reversal.negation_flip("Comp time you have not used a year later is lost.",
                                      passage)
    assert reversal.negation_flip("Comp time does not expire.", passage)


def test_word_negation_repeated_in_another_order_is_on_both_sides() -> None:
    source = "Autoscaling can prevent failing requests due to resource starvation."
    assert not reversal.negation_flip("It keeps requests from failing when resources run out.",
                                      source)
    assert reversal.negation_flip("It keeps requests healthy when resources run out.",
                                  "Avoid requests when resources run out.")


def test_an_acronym_the_passage_spells_out_is_not_a_new_name() -> None:
    passage = ("Personally Identifiable Information should never be logged. Ask the "
               "Department of Defense first.")
    assert not changed_name("Never log PII.", passage)
    assert not changed_name("Ask the DoD first.", passage)
    assert changed_name("Never log PHI.", passage)
    # the initials must be capitalised words in a row: no run across a sentence's end
    assert changed_name("Ask the IA first.", "They log Information. Ask Bob.")


def test_a_couple_counts_as_two() -> None:
    passage = "This is usually caused by one or a couple of things."
    assert numbers(passage) >= {"2"}
    assert not changed_number("It has two usual causes.", passage)
    assert changed_number("It has three usual causes.", passage)


def test_both_words_of_a_pair_in_the_claims_sentence_are_an_enumeration() -> None:
    """A clause of a sentence that lists both sides of an antonym pair ("P1 high ... P3 low")
    is not a swap against the passage sentence holding the other side; alone it is."""
    source = "P1 - Impact is high: needs to be addressed quickly."
    clause = "to P3 low impact that can wait"
    sentence = "Priorities run from P1 high impact to P3 low impact that can wait."
    assert reversal.antonym_swap(clause, source)
    assert not reversal.antonym_swap(clause, source, sentence)
    assert reversal.reversal(clause, source, clause) == "antonym"
    assert reversal.reversal(clause, source, sentence) is None



def test_a_negation_that_moves_is_not_a_flip() -> None:
    """As many negations on both sides: the sentence was reworded around its negation, not
    reversed; one negation dropped still is."""
    source = ("The command puts the version into the registry in a state where it's not "
              "available for public access, so maintainers approve it later.")
    moved = alignment.diff("The command puts the version into the registry in a state the "
                           "public can't access, so maintainers approve it later.", source)
    assert not moved.negation
    dropped = alignment.diff("The command puts the version into the registry in a state where "
                             "it's available for public access, so maintainers approve it later.",
                             source)
    assert dropped.negation


def test_the_word_exchange_rule_reads_only_a_mostly_copied_sentence() -> None:
    """Two words trading places is a reversal in a copied sentence; in a long sentence that
    shares a fifth of its words with the source (a summary reorders freely: a true summary of
    several list items was vetoed so) the exchange is left to the learned model's signals."""
    source = "Builds run locally while deploys run remotely."
    assert alignment.diff("Deploys run locally while builds run remotely.", source).swap
    padded = ("Deploys run locally, as the team wiki and the onboarding checklist both explain, "
              "while builds run remotely every weekday night under the shared service account.")
    assert alignment._exchanged(alignment.tokens(padded), alignment.tokens(source))
    assert not alignment.diff(padded, source).swap


def test_underscores_inside_words_are_kept_emphasis_is_not() -> None:
    from rag.text import plain, words

    assert plain("Packages go in `node_modules` under the _prefix_.") == \
        "Packages go in node_modules under the prefix."
    assert plain("Reference ${VARIABLE_NAME} or __init__.") == "Reference ${VARIABLE_NAME} or init."
    # the claim and the passage split an identifier into the same words
    assert words(plain("node_modules")) == words("`node_modules`") == ["node", "modules"]
    assert not changed_name("Use ${VARIABLE_NAME} in the file.",
                            "Environment variables can be replaced using `${VARIABLE_NAME}`.")


def test_a_word_for_word_run_of_the_passage_is_a_copy() -> None:
    from rag.support import copies_span

    passage = ("Reviews should start within one working day, and **KeePassXC** runs on "
               "`node_modules` hosts.")
    assert copies_span("Reviews should start within 1 working day.", passage)
    assert copies_span("KeePassXC runs on node_modules hosts", passage)
    assert not copies_span("Reviews should start within 2 working days.", passage)
    assert not copies_span("Reviews should begin within one working day.", passage)
    assert not copies_span("Reviews start within one working day.", passage)  # a word dropped
    assert not copies_span("the team", "Ask the team.")  # no claim: fewer than two content words


def test_a_copy_is_verified_unless_a_veto_rejects_it(embedder) -> None:  # noqa: ANN001
    sentence = "Run the database migration before deploying the new service."
    clause = support_score("Run the database migration", PASSAGE, embedder)
    assert clause.ok(0.0) and clause.score == 1.0 and supports(sentence, PASSAGE, embedder)
    reversed_copy = support_score("Deploy the new service before running the database migration.",
                                  PASSAGE, embedder)
    assert reversed_copy.vetoed
