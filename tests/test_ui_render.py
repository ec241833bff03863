"""Escaped HTML for answers, sources and articles (pure functions; no server)."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.settings import Settings
from ui.article import article_html, resolve_source
from ui.chat import citation_choices, history_of, pick_record, session_settings
from ui.render import answer_html, article_href, highlight, sources_html, streaming_html

HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)"> & "quotes"'


def cite(n: int, **kw: object) -> dict[str, object]:
    base = {"n": n, "article_id": f"a{n}", "title": f"Title {n}", "heading": f"Title {n} > Part",
            "text": f"Passage {n} text. Second sentence.", "source": f"a{n}.md", "score": 0.5,
            "anchor": "part", "spans": []}
    return {**base, **kw}


def answer(**kw: object) -> dict[str, object]:
    base = {"question": "q?", "answer": "First claim [1]. Second claim [2].", "refused": False,
            "answerer": "extractive", "citations": [cite(1), cite(2), cite(3)], "query": "q?",
            "sentences": [], "notice": ""}
    return {**base, **kw}


def visible_text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html.replace("<br>", "\n")))


@given(st.text(max_size=80), st.lists(st.tuples(st.integers(-5, 90), st.integers(-5, 90)),
                                      max_size=5))
def test_highlight_keeps_the_text_and_only_adds_marks(text: str, spans: list) -> None:
    html = highlight(text, spans)
    assert visible_text(html) == text
    assert set(re.findall(r"</?(\w+)", html)) <= {"mark"}
    assert html.count("<mark>") == html.count("</mark>")


def test_highlight_merges_overlaps_and_ignores_bad_spans() -> None:
    html = highlight("abcdefgh", [[1, 3], [2, 5], [7, 99], [6, 6], ["x", 2], [9]])
    assert html == "a<mark>bcde</mark>fg<mark>h</mark>"


def test_hostile_text_is_escaped_everywhere() -> None:
    hostile = answer(
        answer=f"{HOSTILE} [1]", query=HOSTILE, notice=HOSTILE,
        citations=[cite(1, text=HOSTILE, title=HOSTILE, heading=HOSTILE, spans=[[0, 20]],
                        source='x".md', anchor='"><script>')],
    )
    for html in (answer_html(hostile), answer_html({**hostile, "refused": True}),
                 streaming_html(HOSTILE)):
        assert "<script" not in html and "<img" not in html and 'onerror="' not in html
        assert "&lt;script&gt;" in html
        assert 'href="article?src=x%22.md&amp;anchor=%22%3E%3Cscript%3E' in html or (
            "pb-streaming" in html
        )


def test_markers_cited_sources_open_and_others_folded() -> None:
    html = answer_html(answer(answer="Only one claim [2]."))
    assert '<sup class="pb-cite">[2]</sup>' in html
    opened, folded = html.split("Other passages retrieved")
    assert "<details class=\"pb-source\" open>" in opened and "[2]</span>" in opened
    assert "[1]</span>" in folded and "[3]</span>" in folded and " open>" not in folded
    assert "\n" not in html  # one HTML block: nothing for a Markdown pass to split


def test_heading_path_drops_a_repeated_title() -> None:
    html = sources_html(answer(citations=[cite(1, heading="Title 1 > Part > Sub")],
                               answer="x [1]"))
    assert re.sub(r"<[^>]+>", "", html).count("Title 1") == 1
    assert "Part" in html and "Sub" in html


def test_refused_state_lists_nearest_articles_once() -> None:
    refused = answer(refused=True, answer="The playbook does not cover this.",
                     citations=[cite(1), cite(2, article_id="a1"), cite(3)])
    html = answer_html(refused)
    assert "Not covered by the playbook" in html and "pb-refused" in html
    assert html.count("<li>") == 2 and "pb-sources" not in html
    assert "No article is close" in answer_html({**refused, "citations": []})


def test_followup_shows_the_searched_query() -> None:
    assert "Searched for" not in answer_html(answer())
    html = answer_html(answer(query="rewritten <query>"))
    assert "Searched for: <q>rewritten &lt;query&gt;</q>" in html


def test_article_href_quotes_and_anchors() -> None:
    assert article_href("teams/on boarding.md", "the-first-day") == (
        "article?src=teams/on%20boarding.md&anchor=the-first-day#the-first-day"
    )
    assert article_href("a.md") == "article?src=a.md"


@pytest.fixture
def playbook_dir(tmp_path: Path, content: Path) -> Settings:
    (tmp_path / "secret.md").write_text("# Secret\n\nnot in the playbook\n", encoding="utf-8")
    (content / "link.md").symlink_to(tmp_path / "secret.md")
    (content / "notes.txt").write_text("text", encoding="utf-8")
    return Settings(content_dir=content, index_dir=tmp_path / "index")


@pytest.mark.parametrize("source", [
    "../secret.md", "/etc/passwd", "teams/../../secret.md", "link.md", "notes.txt", "",
    "missing.md", "teams", "a\x00.md",
])
def test_article_paths_outside_the_playbook_are_refused(playbook_dir: Settings,
                                                        source: str) -> None:
    from rag.errors import PlaybookError

    with pytest.raises(PlaybookError, match="There is no article"):
        resolve_source(playbook_dir, source)
    assert "not in the playbook" not in article_html(playbook_dir, source)


def test_article_renders_escaped_with_heading_anchors(playbook_dir: Settings) -> None:
    (playbook_dir.content_path / "x.md").write_text(
        f"---\ntitle: X\n---\n\n## Same\n\n{HOSTILE} <svg onload=alert(3)>\n\n## Same\n\n"
        "[bad](javascript:alert(1))\n",
        encoding="utf-8",
    )
    html = article_html(playbook_dir, "x.md", "same-1")
    assert '<h2 id="same">' in html and '<h2 id="same-1" class="pb-target">' in html
    assert "<script" not in html and "<img" not in html and "href=\"javascript" not in html
    # ingest drops <script> and <img> (HTML elements: not content); what is not an HTML
    # element the parser knows stays, and is shown escaped
    assert "&lt;svg onload=alert(3)&gt;" in html and "<svg" not in html and "<h1>X</h1>" in html
    nested = article_html(playbook_dir, "teams/onboarding.md", "the-first-day")
    assert 'id="the-first-day" class="pb-target"' in nested


def test_chat_helpers() -> None:
    base = Settings()
    assert session_settings(base, "extractive", 7).top_k == 7
    assert session_settings(base, None, None) is base
    rec = {"id": "r", "answer": answer()}
    assert history_of([rec, None]) == [("q?", "First claim [1]. Second claim [2].")]
    assert pick_record([rec, None], None) == (1, None)
    assert pick_record([rec, None], 0) == (0, rec)
    assert pick_record([], None) == (None, None)
    assert citation_choices(rec)[0] == ("[1] Title 1 › Part", 1)


def test_answer_bullets_become_a_list_and_stay_escaped() -> None:
    html = answer_html(answer(answer="Intro:\n- first <b>bold</b> [1]\n2. second [2]\nEnd."))
    first = '<ul class="pb-list"><li>first &lt;b&gt;bold&lt;/b&gt; <sup class="pb-cite">[1]</sup>'
    assert first in html
    assert "<li>second" in html and "End." in html and "<b>" not in html


@given(st.text(alphabet=st.sampled_from(list("ab <>&*_`#-1.\n[]()")), max_size=120),
       st.lists(st.tuples(st.integers(-5, 130), st.integers(-5, 130)), max_size=4))
def test_passage_markdown_is_escaped_and_keeps_every_visible_character(text: str,
                                                                        spans: list) -> None:
    from ui.markdown import passage_html

    html = passage_html(text, spans)
    assert "<script" not in html and re.fullmatch(
        r"(?:[^<]|</?(?:p|ol|ul|li|mark|em|strong|code|pre|h[3-6])(?: [^>]*)?>)*", html)
    shown = re.sub(r"\s+", "", unescape(re.sub(r"<[^>]+>", "", html)))
    assert set(shown) <= set(re.sub(r"\s+", "", text))  # markup removed, nothing invented


def test_passage_renders_numbered_list_emphasis_code_and_marks_a_cited_item() -> None:
    from ui.markdown import passage_html

    text = ("Here are some *tactics*:\n\n1. Assume `positive` intent.\n1. Ask for an overview "
            "<b>now</b>.\n   - listen **intently**\n\n```\nx < y\n```\n")
    start = text.index("Ask for")
    html = passage_html(text, [(start, text.index(".", start) + 1)])
    assert '<ol class="pb-md-list"><li>Assume <code>positive</code> intent.</li>' in html
    assert "<mark>Ask for an overview &lt;b&gt;now&lt;/b&gt;.</mark>" in html
    assert "<ul" in html and "<strong>intently</strong>" in html  # nested under its item
    assert "<em>tactics</em>" in html and "<pre><code>x &lt; y</code></pre>" in html


def test_source_card_renders_the_passage_as_markdown_and_names_the_model() -> None:
    passage = "Tactics:\n\n1. First one.\n1. Second one."
    start = passage.index("Second")
    data = answer(answer="Second one [1].", model="SmolLM2-135M-Instruct.Q4_1",
                  answerer="local", citations=[cite(1, text=passage,
                                                    spans=[[start, len(passage)]])])
    html = answer_html(data)
    assert "<li><mark>Second one.</mark></li>" in html and "1. First" not in html
    assert "Written by SmolLM2-135M-Instruct.Q4_1" in html
    assert "no language model" in answer_html(answer())


def test_cli_source_header_does_not_repeat_the_title() -> None:
    from rag.render import where

    assert where("Building Trust", "Building Trust") == "Building Trust"
    assert where("Alerting", "Guidance for Alerting > Best Practices") == (
        "Alerting › Guidance for Alerting › Best Practices")
    assert where("Alerting", "Alerting > Best Practices") == "Alerting › Best Practices"
