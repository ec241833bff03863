"""The soft token alignment evidence of refusal (rag/answer_align.py `alignment`) on the real
MiniLM and a real passage of the fixture playbook."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "playbook"


def _review_passage():  # noqa: ANN202
    """The 'Before you open a pull request' section of tests/fixtures/playbook/code-reviews.md,
    as one passage, and a BM25 index over the article's paragraphs."""
    from rag.chunk import Chunk
    from rag.index.bm25 import BM25
    from rag.retrieve import Passage

    text = (FIXTURES / "code-reviews.md").read_text(encoding="utf-8")
    part = text.split("## Before you open a pull request")[1].split("## Giving")[0].strip()
    chunk = Chunk("code-reviews#before#0", "code-reviews", "Code Reviews That Help",
                  "code-reviews.md", ("Before you open a pull request",), "", 0, 0, 1, 2, part)
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    index = BM25.build([str(i) for i in range(len(paragraphs) + 1)], [part, *paragraphs])
    return Passage([chunk], 0.5, 0.0, {"dense": 1}), index


def test_a_key_word_the_passage_lacks_aligns_lower_than_the_answered_question() -> None:
    """'How many lines can a reviewer hold in their head?' is answered word for word; swap its
    rarest word for one the passage never says (a near miss) and the minimum and the weighted
    mean both drop."""
    from rag.answer_align import alignment
    from rag.embedder import make_embedder
    from rag.settings import Settings

    passage, index = _review_passage()
    embedder = make_embedder(Settings())
    answered = alignment("How many lines can a reviewer hold in their head?", [passage], index,
                         embedder)
    near = alignment("How many lines can a goldfish hold in its head?", [passage], index,
                     embedder)
    assert answered["align_min"] > 0.6 > 0.3 > near["align_min"]
    assert near["align_mean"] < answered["align_mean"]


def test_alignment_reads_the_asking_part_and_is_neutral_without_token_vectors() -> None:
    """A scenario's preamble in the asker's words does not lower the alignment of what it asks;
    an embedder without per-token vectors (hashed) gets ALIGN_NEUTRAL, not 0."""
    from rag.answer_align import ALIGN, ALIGN_NEUTRAL, alignment
    from rag.embedder import make_embedder
    from rag.settings import Settings

    passage, index = _review_passage()
    scenario = "I'm nervous about my first patch. What should I check before asking for review?"
    got = alignment(scenario, [passage], index, make_embedder(Settings()))
    assert got["align_min"] > 0.6
    hashed = alignment(scenario, [passage], index, make_embedder(Settings(embed_runtime="hashed")))
    assert hashed == dict.fromkeys(ALIGN, ALIGN_NEUTRAL)
