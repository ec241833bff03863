"""Front matter, ids, titles and every kind of unreadable file."""

from __future__ import annotations

import pytest

from ingest.articles import parse_article
from rag.errors import ContentError


def test_front_matter_sets_id_title_and_keeps_extras() -> None:
    raw = b"---\nid: trust\ntitle: Building Trust\ntags: [a, b]\n---\nBody text.\n"
    article = parse_article(raw, "x/building.md")
    assert (article.id, article.title) == ("trust", "Building Trust")
    assert article.metadata == {"tags": ["a", "b"]}
    assert article.body == "Body text.\n"
    assert article.body_line == 6  # five lines of front matter above it


@pytest.mark.parametrize(
    ("raw", "source", "want_id", "want_title"),
    [
        (b"# Heading One\n\ntext\n", "team/onboarding.md", "team/onboarding", "Heading One"),
        (b"just text\n", "team/first-week.md", "team/first-week", "First week"),
        (b"---\ntitle: T\n---\n# H\ntext\n", "a.md", "a", "T"),
        (b"---\nid: 42\n---\ntext\n", "a.md", "42", "A"),
        (b"```\n# not a heading\n```\n## Real\n", "b.md", "b", "Real"),
        (b"\xef\xbb\xbf# With BOM\r\ntext\r\n", "c.md", "c", "With BOM"),
    ],
)
def test_id_and_title_defaults(raw: bytes, source: str, want_id: str, want_title: str) -> None:
    article = parse_article(raw, source)
    assert (article.id, article.title) == (want_id, want_title)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "is empty"),
        (b"  \n\n", "is empty"),
        (b"---\nid: x\n---\n\n", "has no text after its front matter"),
        (b"#\n", "has only headings or markup"),
        (b"# Title\n\n## Section\n\n---\n", "has only headings or markup"),
        (b"---\nid: [unclosed\n---\ntext\n", "invalid YAML front matter on line"),
        (b"---\nid: x\ntext without end\n", "never closed"),
        (b"---\n- a\n- b\n---\ntext\n", "must be a mapping"),
        (b"---\nid: [a, b]\n---\ntext\n", "'id' must be text"),
        (b"ok line\nbad \xff byte\n", "not valid UTF-8 (byte 0xff on line 2)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
    ],
)
def test_bad_files_raise_one_clear_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(ContentError) as info:
        parse_article(raw, "bad.md")
    assert reason in str(info.value)
    assert str(info.value).startswith("bad.md: ")
    assert "\n" not in str(info.value)


def test_yaml_error_names_the_file_line() -> None:
    raw = b"---\nid: ok\ntitle: fine\nbroken: : :\n---\ntext\n"
    with pytest.raises(ContentError, match="on line 4"):
        parse_article(raw, "bad.md")
