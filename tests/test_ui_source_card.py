"""A source card in a real headless Chromium: the passage's numbered list renders as a list and the
cited item is highlighted. Its screenshot goes to tests/artifacts/; with
UPDATE_DOC_SCREENSHOTS=1 it also replaces docs/screenshots/source-card-list.png (a test run
must not rewrite a tracked file)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_ui_browser import SHOTS, ask

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DOCS = Path(__file__).parent.parent / "docs" / "screenshots"


@pytest.fixture(scope="module")
def page(browser: Any, ui_server: Any) -> Iterator[Any]:
    SHOTS.mkdir(parents=True, exist_ok=True)  # ask() logs its timing there
    context = browser.new_context(viewport={"width": 1200, "height": 1400})
    page = context.new_page()
    page.goto(ui_server.url)
    page.wait_for_selector("#pb-question textarea", timeout=60_000)
    yield page
    context.close()


def test_source_card_renders_a_numbered_list_with_the_cited_item_marked(page: Any) -> None:
    ask(page, "Should I commiserate with a team to gain its trust?")
    card = page.locator("#pb-chat .pb-sources .pb-source").first
    lists = card.locator(".pb-passage ol.pb-md-list")
    assert lists.count() >= 2  # the article's numbered lists, not raw "1." lines
    assert not re.search(r"^\s*1\. ", card.locator(".pb-passage").inner_text(), re.M)
    marked = card.locator(".pb-passage ol li mark")
    assert marked.count() >= 1 and "commiserate" in marked.first.inner_text()
    marked.first.scroll_into_view_if_needed()
    shot = SHOTS / "source-card-list.png"
    card.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("UPDATE_DOC_SCREENSHOTS") == "1":
        shutil.copyfile(shot, DOCS / shot.name)
