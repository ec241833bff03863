"""The chat page in a real headless Chromium (Debian's package) against a real `playbook serve`.

Screenshots go to tests/artifacts/ui/ (and, with UPDATE_DOC_SCREENSHOTS=1, the two shown in the
README to docs/screenshots/). The submit-to-first-text time of every question is printed
(run with `-s`) and appended to tests/artifacts/ui/timings.txt: a figure, not an assertion.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path(__file__).parent / "artifacts" / "ui"
DOCS = Path(__file__).parent.parent / "docs" / "screenshots"
QUESTION = "How do I approach a tribal team?"


@pytest.fixture(scope="module")
def chat(browser: Any, ui_server: Any) -> Iterator[Any]:
    """One page for the whole conversation; records every request the page makes."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1360, "height": 1100})
    page = context.new_page()
    page.requests = []  # type: ignore[attr-defined]
    page.dialogs = []  # type: ignore[attr-defined]
    page.on("request", lambda r: page.requests.append(r.url))  # type: ignore[attr-defined]
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))  # type: ignore[attr-defined]
    page.goto(ui_server.url)
    page.wait_for_selector("#pb-question textarea", timeout=60_000)
    yield page
    context.close()


def ask(page: Any, question: str) -> tuple[Any, float]:
    """Type and send a question; returns the new answer's locator and seconds to first text."""
    before = page.locator("#pb-chat .pb-answer, #pb-chat .pb-error").count()
    page.fill("#pb-question textarea", question)
    started = time.perf_counter()
    page.click("#pb-ask")
    answers = page.locator("#pb-chat .pb-answer, #pb-chat .pb-error")
    page.wait_for_function(
        "n => { const a = document.querySelectorAll('#pb-chat .pb-answer, #pb-chat .pb-error');"
        " return a.length > n && a[a.length - 1].innerText.trim().length > 0; }",
        arg=before, timeout=120_000,
    )
    first_text = time.perf_counter() - started
    line = f"[{question}] submit -> first visible text: {first_text * 1000:.0f} ms"
    print("\n" + line)
    with (SHOTS / "timings.txt").open("a", encoding="utf-8") as log:  # kept with the screenshots
        log.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {line}\n")
    page.wait_for_selector("#pb-chat .pb-streaming", state="detached", timeout=120_000)
    return answers.last, first_text


def shot(page: Any, name: str, docs: bool = False) -> None:
    path = SHOTS / name
    page.screenshot(path=str(path), full_page=True)
    if docs and os.environ.get("UPDATE_DOC_SCREENSHOTS") == "1":  # refresh the README's images
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS / name)


def scroll_chat_to(page: Any, selector: str) -> None:
    """Scroll the chat's own scroll box so the last match of `selector` sits near its top."""
    page.wait_for_timeout(500)  # let the Chatbot's autoscroll settle first
    page.evaluate(
        "sel => { const all = document.querySelectorAll('#pb-chat ' + sel);"
        " const a = all[all.length - 1]; let box = a.parentElement;"
        " while (box && box.scrollHeight <= box.clientHeight + 2) box = box.parentElement;"
        " if (box) box.scrollTop += a.getBoundingClientRect().top"
        "   - box.getBoundingClientRect().top - 70; }", selector,
    )


def test_question_box_is_ready_and_focused_once_the_page_is(browser: Any, ui_server: Any) -> None:
    """The box and the Ask button start disabled and the page's load event, which stores its
    session token, enables them (a question sent before that was refused as "not from the
    page": tests/test_gaps_browser.py timed out so in a fresh-clone CI run on a slow machine);
    then the box has the focus."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(ui_server.url)
        page.wait_for_function(
            "() => { const t = document.querySelector('#pb-question textarea');"
            " return t && !t.disabled && document.activeElement === t; }", timeout=60_000)
        assert page.locator("#pb-ask").is_enabled()
    finally:
        context.close()


def test_answer_streams_with_highlighted_sources(chat: Any) -> None:
    answer, _ = ask(chat, QUESTION)
    assert "[1]" in answer.inner_text()
    sources = chat.locator("#pb-chat .pb-sources").first
    assert sources.locator(".pb-source").count() >= 1
    first = sources.locator(".pb-source").first
    assert "Building Trust" in first.locator("summary").inner_text()
    assert first.locator(".pb-passage mark").count() >= 1  # cited sentences highlighted
    assert first.locator("a.pb-open").get_attribute("href").startswith("article?src=")
    scroll_chat_to(chat, ".pb-user")
    shot(chat, "chat-answer.png", docs=True)


def test_open_source_at_heading(chat: Any) -> None:
    links = chat.locator("#pb-chat a.pb-open[href*='anchor=']")
    if links.count() == 0:  # make sure a passage under a heading is on the page
        ask(chat, "What should a new engineer do on the first day?")
    card = chat.locator("#pb-chat .pb-source").filter(
        has=chat.locator("a.pb-open[href*='anchor=']")).first
    if card.get_attribute("open") is None:
        card.locator("summary").click()
    link = card.locator("a.pb-open")
    href = link.get_attribute("href")
    anchor = href.split("#", 1)[1]
    with chat.context.expect_page() as opened:
        link.click()
    article = opened.value
    article.wait_for_selector(".pb-article", timeout=60_000)
    target = article.locator(f"[id='{anchor}']")
    assert target.count() == 1
    assert "pb-target" in (target.get_attribute("class") or "")
    article.wait_for_function(
        "id => { const r = document.getElementById(id).getBoundingClientRect();"
        " return r.top >= 0 && r.top < window.innerHeight; }", arg=anchor, timeout=10_000,
    )
    article.screenshot(path=str(SHOTS / "article.png"))
    article.close()


def test_followup_uses_history_and_shows_query(chat: Any) -> None:
    followup = "What if they keep shutting me out?"
    before = chat.locator("#pb-chat .pb-query").count()
    answer, _ = ask(chat, followup)
    assert chat.locator("#pb-chat .pb-query").count() == before + 1
    query = chat.locator("#pb-chat .pb-query").last
    assert query.is_visible()
    searched = query.inner_text().removeprefix("Searched for:").strip().strip("“”\"")
    assert searched and searched != followup  # made standalone from the conversation
    assert answer.inner_text().strip()
    scroll_chat_to(chat, ".pb-query")
    shot(chat, "chat-followup.png")


def test_feedback_lands_in_sqlite(chat: Any, ui_server: Any) -> None:
    ask(chat, QUESTION)
    chat.locator("#pb-chat button[aria-label='Like']").last.click()
    # The thumb's reply points the panel at the answer (clearing the comment box): wait for
    # it, or on a loaded machine it lands after the comment is typed and wipes it.
    chat.wait_for_function(
        "() => document.querySelector('#pb-feedback-status').innerText.includes('saved')",
        timeout=30_000,
    )
    chat.locator("#pb-wrong label").first.click()
    chat.fill("#pb-comment textarea", "clear and well sourced")
    chat.click("#pb-send-feedback")
    chat.wait_for_function(
        "() => document.querySelector('#pb-feedback-status').innerText.includes('saved')",
        timeout=30_000,
    )
    db = ui_server.index / "feedback.sqlite3"
    deadline = time.monotonic() + 20
    row = None
    while time.monotonic() < deadline and row is None:
        with sqlite3.connect(db) as conn:
            row = conn.execute(
                "SELECT question, answer, citations, rating, comment, wrong_citations, created"
                " FROM feedback WHERE comment = 'clear and well sourced'"
            ).fetchone()
        time.sleep(0.3)
    assert row is not None
    question, answer, citations, rating, comment, wrong, created = row
    assert question == QUESTION and "[1]" in answer and rating == 1
    assert json.loads(wrong) == [1] and json.loads(citations)[0]["n"] == 1 and created


def test_hostile_markup_shows_as_text(chat: Any) -> None:
    ask(chat, "How should I write an incident report?")
    sources = chat.locator("#pb-chat .pb-source").filter(has_text="Writing Incident Reports")
    assert sources.count() >= 1
    text = sources.first.text_content().replace("\n", " ")
    # The card renders the passage as Markdown (the markup is quoted as inline code), and the
    # tags themselves are text, never markup.
    assert "<script>window." in text and "</script>" in text
    assert "<img src=x onerror=" in text
    assert chat.evaluate("() => window.__xss") is None
    assert chat.locator("#pb-chat script, #pb-chat img[src='x']").count() == 0
    assert chat.dialogs == []
    href = sources.first.locator("a.pb-open").get_attribute("href")
    article = chat.context.new_page()
    article.goto(chat.url.split("?")[0].rstrip("/") + "/" + href)
    article.wait_for_selector(".pb-article", timeout=60_000)
    assert "<script>window.__xss = 1</script>" in article.inner_text(".pb-article")
    assert article.evaluate("() => window.__xss") is None
    article.close()
    shot(chat, "chat-xss.png")


def test_article_page_refuses_paths_outside_content(chat: Any, ui_server: Any) -> None:
    page = chat.context.new_page()
    for src in ("../../../../etc/passwd", "%2Fetc%2Fpasswd", "..%2Fserve.log"):
        page.goto(f"{ui_server.url}article?src={src}")
        page.wait_for_selector("#pb-article .pb-error", timeout=60_000)
        assert "There is no article" in page.inner_text("#pb-article")
        assert "root:" not in page.content()
    page.close()


@pytest.mark.llm
def test_local_answerer_streams_tokens(chat: Any) -> None:
    """With llama.cpp (SmolLM2) the draft appears token by token before the checked answer."""
    local = chat.locator("#pb-llm label").filter(has_text="local")
    assert local.count() == 1, "the local answerer should be offered when llama.cpp is installed"
    local.click()
    try:
        chat.evaluate(  # remember whether partial text was ever on screen
            "() => { window.__pbStreamed = false; new MutationObserver(() => {"
            " const s = document.querySelector('#pb-chat .pb-streaming');"
            " if (s && s.innerText.trim()) window.__pbStreamed = true; })"
            ".observe(document.body, {subtree: true, childList: true, characterData: true}); }"
        )
        answer, first_text = ask(chat, QUESTION)
        print(f"[local] submit -> first visible text: {first_text * 1000:.0f} ms")
        assert chat.evaluate("() => window.__pbStreamed"), (
            f"no partial text was shown before the final answer: {answer.inner_text()[:200]}"
        )
    finally:
        chat.locator("#pb-llm label").filter(has_text="extractive").click()


def test_off_topic_shows_not_covered_state(chat: Any) -> None:
    answer, _ = ask(chat, "What is the boiling point of tungsten in kelvin?")
    refused = chat.locator("#pb-chat .pb-refused").last
    refused.wait_for(timeout=10_000)
    assert "Not covered by the playbook" in refused.inner_text()
    assert refused.locator(".pb-nearest li a").count() >= 1
    scroll_chat_to(chat, ".pb-refused")
    shot(chat, "chat-not-covered.png", docs=True)


def test_page_needs_no_network(chat: Any) -> None:
    outside = [u for u in chat.requests if not u.startswith(("http://127.0.0.1", "data:",
                                                             "blob:"))]
    assert outside == []


def test_reingest_keeps_answering(chat: Any, ui_server: Any) -> None:
    (ui_server.content / "retros.md").write_text(
        "---\nid: retros\ntitle: Running Retrospectives\n---\n\n# Running retrospectives\n\n"
        "Hold a retrospective every two weeks and rotate who facilitates it.\n",
        encoding="utf-8",
    )
    chat.click("#pb-reingest")
    chat.wait_for_function(
        "() => document.querySelector('#pb-reingest-status').innerText.includes('Re-ingest')",
        timeout=30_000,
    )
    answer, _ = ask(chat, QUESTION)  # answered while (or right after) the rebuild runs
    assert "[1]" in answer.inner_text()
    chat.wait_for_function(
        "() => document.querySelector('#pb-reingest-status').innerText.includes('Re-ingested')",
        timeout=300_000,
    )
    assert "Articles5" in chat.inner_text("#pb-index-status").replace("\n", "").replace(" ", "")
    ask(chat, "How often should we hold a retrospective?")
    new = chat.locator("#pb-chat .pb-source").filter(has_text="Running Retrospectives")
    assert new.count() >= 1


def test_clearing_the_chat_forgets_its_answers(chat: Any) -> None:
    chat.locator("#pb-chat button[aria-label='Clear']").click()
    chat.wait_for_function(
        "() => document.querySelector('#pb-feedback-target').innerText.includes('Ask a question')",
        timeout=30_000,
    )
    ask(chat, "What should a new engineer do on the first day?")
    chat.locator("#pb-chat button[aria-label='Like']").last.click()
    chat.wait_for_function(
        "() => document.querySelector('#pb-feedback-status').innerText.includes('saved')",
        timeout=30_000,
    )
    assert "new engineer" in chat.inner_text("#pb-feedback-target")
