"""The page for content owners in a real headless Chromium against a real `playbook serve` with
PLAYBOOK_AUTH: the logging line, owners and the stale mark on source cards, the stale notice,
and the Gaps tab listing a refused question. Screenshots go to tests/artifacts/ui/."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from owners_common import index, owned_playbook
from test_ui_browser import SHOTS, ask, scroll_chat_to, shot
from uiserver import ROOT, clean_env, free_port, stop_process, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STALE_QUESTION = "What does the must: prefix mean in a review comment?"
OFF_TOPIC = "What is the tallest mountain in Africa?"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("owners-ui")
    settings = index(tmp, owned_playbook(tmp, date.today().isoformat()))
    port, log = free_port(), tmp / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ui.cli", "serve", "--content", str(settings.content_dir),
             "--index", str(settings.index_dir), "--port", str(port)],
            cwd=ROOT, env=clean_env(PLAYBOOK_AUTH="ann:s3cret"), stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for(url, proc, log)
        yield url
    finally:
        stop_process(proc)


@pytest.fixture(scope="module")
def page(browser: Any, served: str) -> Iterator[Any]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1360, "height": 1100})
    page = context.new_page()
    page.goto(served)
    page.wait_for_selector("input[type=password]", timeout=60_000)  # Gradio's login form
    page.locator("input").first.fill("ann")
    page.locator("input[type=password]").fill("s3cret")
    page.keyboard.press("Enter")
    page.wait_for_selector("#pb-question textarea", timeout=60_000)
    yield page
    context.close()


def test_page_says_questions_are_logged(page: Any) -> None:
    assert "Questions asked here are logged" in page.locator("#pb-logged").inner_text()


def test_stale_sources_are_marked_and_the_answer_carries_the_notice(page: Any) -> None:
    answer, _ = ask(page, STALE_QUESTION)
    message = page.locator("#pb-chat .pb-notice").last
    assert "past its review date" in message.inner_text()
    fresh = page.locator("#pb-chat .pb-source .pb-fresh").first
    text = fresh.inner_text()
    assert "updated" in text and "@platform-team" in text and "past its review date" in text
    assert "pb-stale" in (fresh.get_attribute("class") or "")
    scroll_chat_to(page, ".pb-user")
    shot(page, "stale-notice.png", docs=True)


def test_gaps_tab_lists_a_refused_question(page: Any, served: str) -> None:
    ask(page, OFF_TOPIC)
    assert page.locator("#pb-chat .pb-refused").count() >= 1
    page.goto(served + "gaps")
    page.wait_for_selector("#pb-gaps-table", timeout=60_000)
    table = page.locator("#pb-gaps-table").inner_text()
    assert OFF_TOPIC in table and "refused" in table
    assert STALE_QUESTION not in table  # answered well: not a gap
    shot(page, "gaps-tab.png", docs=True)
