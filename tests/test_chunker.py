"""Chunker: unit cases on real articles and hypothesis properties on generated Markdown."""

from __future__ import annotations

from pathlib import Path

from content_common import indexed_texts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.articles import parse_article
from ingest.blocks import parse_blocks
from ingest.chunker import chunk_article, slugify
from rag.errors import ContentError

FIXTURES = Path(__file__).parent / "fixtures" / "playbook"


def _article(name: str):  # noqa: ANN202
    path = FIXTURES / name
    return parse_article(path.read_bytes(), name)


def test_tactics_list_stays_whole_with_its_lead_in(count_tokens) -> None:  # noqa: ANN001
    chunks = chunk_article(_article("building-trust.md"), count_tokens)
    holding = [c for c in chunks if "Assume positive intent" in c.text]
    assert len(holding) == 1
    tactics = holding[0].text
    assert "here are some tactics" in tactics
    for item in ("Assume positive intent", "Ask for an overview", "Get in the trenches",
                 "Offer to take on some of the tasks", "commiserate with them"):
        assert item in tactics


def test_chunk_ids_headings_and_lines(count_tokens) -> None:  # noqa: ANN001
    chunks = chunk_article(_article("code-reviews.md"), count_tokens, budget=60)
    ids = [c.id for c in chunks]
    assert len(ids) == len(set(ids))
    assert ids[0] == "code-reviews#code-reviews-that-help#0"
    giving = [c for c in chunks if c.anchor == "giving-feedback"]
    assert giving and giving[0].heading_path == ("Code Reviews That Help", "Giving feedback")
    table = [c for c in chunks if "| nit:" in c.text]
    assert len(table) == 1 and "| must:" in table[0].text  # a table is never split
    code = [c for c in chunks if "```python" in c.text]
    assert len(code) == 1 and code[0].text.count("```") == 2  # nor is a code block
    lines = (FIXTURES / "code-reviews.md").read_text().split("\n")
    first = giving[0]
    assert lines[first.start_line - 1].startswith("Comment on the code")
    assert all(c.embed_text.startswith("Code Reviews That Help > ") for c in chunks)


def test_lead_in_is_never_left_alone(count_tokens) -> None:  # noqa: ANN001
    chunks = chunk_article(_article("code-reviews.md"), count_tokens, budget=30)
    lead = [c for c in chunks if "Checklist before asking for review:" in c.text]
    assert lead and "The build passes locally" in lead[0].text


def test_overlap_goes_to_context_not_text(count_tokens) -> None:  # noqa: ANN001
    chunks = chunk_article(_article("code-reviews.md"), count_tokens, budget=40, overlap=12)
    later = [c for c in chunks if c.id.endswith("#1")]
    assert later and all(c.context and c.context not in c.text for c in later)
    assert all(count_tokens(c.context) <= 12 for c in chunks)


def test_slugify_matches_github_anchors() -> None:
    assert slugify("Before you open a pull request") == "before-you-open-a-pull-request"
    assert slugify("CI/CD & `Testing`!") == "cicd--testing"


def test_a_heading_that_heads_nothing_is_its_own_text(count_tokens) -> None:  # noqa: ANN001
    # 18F's top-secret page: steps 3 and 5 are headings only; a reader sees them, so must we.
    raw = (b"# Clearance\n\nThe steps.\n\n## Steps\n\n#### 1. Ask your lead.\n\nBy email.\n\n"
           b"#### 3. HR reviews **all** documents.\n\n#### 4. Security calls you.\n\nSoon.\n\n"
           b"## {{ page.x }}\n\n## Empty\n")
    chunks = chunk_article(parse_article(raw, "s.md"), count_tokens)
    texts = {c.heading_path[-1]: c.text for c in chunks}
    assert texts["3. HR reviews all documents."] == "3. HR reviews all documents."
    assert texts["1. Ask your lead."] == "By email."  # a heading with text stays a heading only
    assert "Steps" not in texts  # it heads subsections: nothing of its own to say
    assert texts["Empty"] == "Empty"  # the last heading, with nothing after it
    leaf = next(c for c in chunks if c.text.startswith("3."))
    assert (leaf.start_line, leaf.end_line) == (11, 11)
    assert leaf.anchor == "3-hr-reviews-all-documents"


def test_duplicate_headings_get_numbered_anchors(count_tokens) -> None:  # noqa: ANN001
    raw = b"# A\n\n## Notes\n\none\n\n## Notes\n\ntwo\n"
    chunks = chunk_article(parse_article(raw, "d.md"), count_tokens)
    assert [c.anchor for c in chunks] == ["notes", "notes-1"]
    assert len({c.id for c in chunks}) == 2


# --- properties ----------------------------------------------------------------------------

_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=9)


def _sentence(words: list[str]) -> str:
    return " ".join(words).capitalize() + "."


_sentence_st = st.lists(_word, min_size=2, max_size=25).map(_sentence)
_sentences = st.lists(_sentence_st, min_size=1, max_size=8)
_paragraph = _sentences.map(" ".join)
_item_text = st.lists(_word, min_size=1, max_size=40).map(" ".join)


@st.composite
def _markdown(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A random article and the texts of its list items."""
    parts, items = [], []
    for _ in range(draw(st.integers(1, 10))):
        kind = draw(st.sampled_from(["heading", "paragraph", "list", "code", "table"]))
        if kind == "heading":
            parts.append("#" * draw(st.integers(1, 3)) + " " + draw(_item_text))
        elif kind == "paragraph":
            parts.append(draw(_paragraph))
        elif kind == "list":
            texts = draw(st.lists(_item_text, min_size=1, max_size=8))
            ordered = draw(st.booleans())
            lines = [f"{i + 1}. {t}" if ordered else f"- {t}" for i, t in enumerate(texts)]
            items.extend(lines)
            if draw(st.booleans()):
                parts.append(draw(_paragraph) + ":\n" + "\n".join(lines))
            else:
                parts.append("\n".join(lines))
        elif kind == "code":
            parts.append("```\n" + "\n".join(draw(st.lists(_item_text, max_size=6))) + "\n```")
        else:
            rows = draw(st.lists(_word, min_size=1, max_size=6))
            parts.append("| a | b |\n|---|---|\n" + "\n".join(f"| {r} | x |" for r in rows))
    return "\n\n".join(parts) + "\n", items


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=_markdown(), budget=st.integers(32, 200), overlap=st.integers(0, 24))
def test_no_text_lost_or_duplicated(count_tokens, doc, budget, overlap) -> None:  # noqa: ANN001
    body, items = doc
    try:
        article = parse_article(body.encode(), "gen.md")
    except ContentError as exc:  # e.g. only an empty code block: nothing to index, nothing lost
        assert "no text to index" in str(exc)
        assert not any(b.kind != "heading" and any(ch.isalnum() for ch in b.text)
                       for b in parse_blocks(body))
        return
    chunks = chunk_article(article, count_tokens, budget=budget, overlap=overlap)
    content_lines = indexed_texts(article.body)  # blocks, and headings that head nothing
    assert " ".join(c.text for c in chunks).split() == " ".join(content_lines).split()
    chunk_lines = [line for c in chunks for line in c.text.split("\n")]
    for item in set(items):  # every list item lies whole inside one chunk, never cut
        assert chunk_lines.count(item) == items.count(item)
    for chunk in chunks:  # over budget only when the chunk is one unsplittable piece
        if count_tokens(chunk.text) > budget:
            assert "\n\n" not in chunk.text
    assert len({c.id for c in chunks}) == len(chunks)
    ranges = [(c.start_line, c.end_line) for c in chunks]
    assert all(a[1] <= b[0] for a, b in zip(ranges, ranges[1:], strict=False))


# --- hostile sizes and shapes ----------------------------------------------------------------


def test_sentence_split_keeps_closing_quotes_and_lines(count_tokens) -> None:  # noqa: ANN001
    sentences = [f'He said "stop number {i}." Then' for i in range(60)]
    body = "Intro line\n" + " ".join(sentences) + " end.\n"
    article = parse_article(body.encode(), "q.md")
    chunks = chunk_article(article, count_tokens, budget=40, overlap=0)
    text = " ".join(c.text for c in chunks)
    assert text.count('."') == 60  # the closing quote stays with its sentence
    assert chunks[0].start_line == 1 and all(c.end_line <= 2 for c in chunks)


def test_no_chunk_exceeds_the_character_cap(count_tokens) -> None:  # noqa: ANN001
    from ingest.chunker import MAX_CHUNK_CHARS

    table = "| a | b |\n|---|---|\n" + "".join(f"| row {i} | x |\n" for i in range(3000))
    blob = "x" * 30_000  # one "word", no space to cut at
    body = f"# T\n\n{table}\n{blob}\n\n```\n" + "code line\n" * 2000 + "```\n"
    article = parse_article(body.encode(), "big.md")
    chunks = chunk_article(article, count_tokens)
    assert all(len(c.text) <= MAX_CHUNK_CHARS for c in chunks)
    joined = "".join(c.text for c in chunks)
    assert joined.count("| row ") == 3000 and joined.count("x") >= 30_000  # nothing lost
    lines = body.split("\n")
    for chunk in chunks:  # line numbers still point at the text
        assert chunk.text.split("\n")[0].strip() in lines[chunk.start_line - 1]


def test_big_front_matter_is_not_copied_into_every_chunk(count_tokens) -> None:  # noqa: ANN001
    front = "---\n" + "".join(f"k{i}: {'v' * 900}\n" for i in range(60)) + "---\n"
    body = front + "".join(f"Paragraph {i} has some words.\n\n" for i in range(200))
    chunks = chunk_article(parse_article(body.encode(), "m.md"), count_tokens, budget=32)
    assert len(chunks) > 20
    assert all(sum(len(k) + len(v) for k, v in c.metadata.items()) <= 4000 for c in chunks)
