"""Re-ingest from the page: the old index answers until the new one is swapped in."""

from __future__ import annotations

import threading

import pytest

from rag.api import ask
from rag.index import load_index
from rag.settings import Settings
from ui.reingest import ReingestJob
from ui.status import example_questions, index_status_html

pytestmark = pytest.mark.slow


class PausedJob(ReingestJob):
    """The real job, held at its first progress report until the test lets it go."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.reached = threading.Event()
        self.go_on = threading.Event()

    def _progress(self, done: int, total: int) -> None:
        super()._progress(done, total)
        self.reached.set()
        assert self.go_on.wait(120)


def test_old_index_answers_until_the_swap(built: Settings) -> None:
    old = load_index(built).generation
    (built.content_path / "retros.md").write_text(
        "---\nid: retros\ntitle: Running Retrospectives\n---\n\n"
        "Hold a retrospective every two weeks and rotate the facilitator.\n", encoding="utf-8",
    )
    job = PausedJob(built)
    assert job.start()
    assert not job.start()  # one at a time
    assert job.reached.wait(120), job.status_text()
    assert job.state.running and "Re-ingesting" in job.status_text()
    during = ask("How often should we hold a retrospective?", built)
    assert load_index(built).generation == old
    assert all(c.article_id != "retros" for c in during.citations)
    job.go_on.set()
    job.wait(120)
    assert not job.state.running and "Re-ingested" in job.status_text()
    assert "1 added" in job.status_text()
    assert load_index(built).generation != old
    after = ask("How often should we hold a retrospective?", built)
    assert any(c.article_id == "retros" for c in after.citations)
    assert "<dd>4</dd>" in index_status_html(built)
    assert "What does the playbook say about running retrospectives?" in (
        example_questions(built, limit=10)
    )


def test_failed_reingest_keeps_the_index_and_says_why(built: Settings) -> None:
    old = load_index(built).generation
    for path in built.content_path.rglob("*.md"):
        path.unlink()
    job = ReingestJob(built)
    job.start()
    job.wait(120)
    assert "Re-ingest failed" in job.status_text() and "No Markdown" in job.status_text()
    assert load_index(built).generation == old


def test_status_without_an_index(settings: Settings) -> None:
    assert "No index yet" in index_status_html(settings)
    assert example_questions(settings) == []
