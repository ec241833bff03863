"""`playbook diff` on a real git repository made here: a commit deletes a section, the report
shows the moved citations and the broken heading link; indexes are real and incremental."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from owners_common import git, owned_playbook

from evals.diff import DiffReport, read_questions, run_diff, unique
from evals.diff_report import to_markdown
from rag.errors import PlaybookError
from rag.settings import Settings

pytestmark = pytest.mark.slow  # starts servers or several processes: not in the fast tier

QUESTIONS = [
    "How small should a pull request be?",  # cites the section the change deletes
    "What does the must: prefix mean in a review comment?",
    "What should a new engineer do on the first day?",  # untouched article
    "What is the capital of Peru?",  # refused before and after
]
SECTION = re.compile(r"## Before you open a pull request\n.*?(?=## Giving feedback)", re.S)


def test_read_questions_jsonl_and_plain_lines(tmp_path: Path) -> None:
    jsonl = tmp_path / "q.jsonl"
    jsonl.write_text('{"id": "a", "question": "One?"}\n\n{"question": "Two?", "gold": {}}\n')
    assert read_questions(jsonl) == ["One?", "Two?"]
    plain = tmp_path / "q.txt"
    plain.write_text("# comment\nOne?\n  Three?  \n")
    assert read_questions(plain) == ["One?", "Three?"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"q": 1}\n')
    with pytest.raises(PlaybookError, match="line 1"):
        read_questions(bad)
    with pytest.raises(PlaybookError, match="Cannot read"):
        read_questions(tmp_path / "missing.txt")
    assert unique(["One?", "one? ", "Two?"]) == ["One?", "Two?"]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The owned playbook in git; a second commit deletes a section of code-reviews.md."""
    tmp = tmp_path_factory.mktemp("diffrepo")
    content = owned_playbook(tmp, date.today().isoformat())
    reviews = content / "code-reviews.md"
    text = reviews.read_text()
    assert SECTION.search(text)
    reviews.write_text(SECTION.sub("", text))
    git(content.parent, "commit", "-q", "-am", "drop the PR checklist",
        date="2024-09-01T10:00:00+00:00")
    return content


@pytest.fixture(scope="module")
def report(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> DiffReport:
    cache = tmp_path_factory.mktemp("diffcache")
    settings = Settings(content_dir=repo, index_dir=cache / "live")
    return run_diff(settings, "HEAD~1", QUESTIONS, cache)


def test_deleted_section_moves_citations_and_breaks_the_link(report: DiffReport) -> None:
    moved = {c.question: c for c in report.changes}
    change = moved["How small should a pull request be?"]
    assert change.kind in ("citations moved", "newly refused")
    assert "code-reviews.md#before-you-open-a-pull-request" in change.old
    assert "code-reviews.md#before-you-open-a-pull-request" not in change.new
    assert {"question": "How small should a pull request be?",
            "link": "code-reviews.md#before-you-open-a-pull-request"} in report.broken
    assert "What should a new engineer do on the first day?" not in moved
    assert "What is the capital of Peru?" not in moved  # refused both times: no change
    assert report.ingest["base"]["articles"] == report.ingest["current"]["articles"] == 3


def test_markdown_fits_a_pull_request_comment(report: DiffReport) -> None:
    text = to_markdown(report)
    assert text.startswith("### Playbook answer diff\n")
    assert "4 questions answered from `HEAD~1`" in text
    assert "#### Broken heading links (" in text
    assert "| How small should a pull request be? | " in text
    assert "`code-reviews.md#before-you-open-a-pull-request`" in text
    assert report.failed(["citation"]) and not report.failed([])


def test_cli_json_exit_codes_and_incremental_cache(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ui.cli import main

    questions = tmp_path / "q.txt"
    questions.write_text("\n".join(QUESTIONS[:2]) + "\n")
    args = ["diff", "--base", "HEAD~1", "--content", str(repo), "--index",
            str(tmp_path / "live"), "--questions", str(questions), "--cache", str(tmp_path / "c"),
            "--format", "json"]
    assert main([*args, "--fail-on", "citation"]) == 1
    first = json.loads(capsys.readouterr().out)
    assert first["questions"] == 2 and first["counts"]["broken anchors"] >= 1
    assert {b["link"] for b in first["broken"]} == {
        "code-reviews.md#before-you-open-a-pull-request"}
    assert main(args) == 0  # no --fail-on: report only
    again = json.loads(capsys.readouterr().out)
    assert again["ingest"]["base"]["unchanged"] == 3  # the cached indexes were reused
    assert again["ingest"]["current"]["unchanged"] == 3
    assert list((tmp_path / "c" / "base" / "cache").glob("diff-answers-*.json"))  # reused
    assert main([*args, "--fail-on", "typo"]) == 2


def test_same_content_reports_no_change_and_folder_base(
    repo: Path, tmp_path: Path
) -> None:
    settings = Settings(content_dir=repo, index_dir=tmp_path / "live")
    report = run_diff(settings, str(repo), QUESTIONS[:2], tmp_path / "cache")
    assert report.changes == [] and report.broken == []
    assert "No answer changed." in to_markdown(report)


def test_bad_base_is_one_sentence(repo: Path, tmp_path: Path) -> None:
    settings = Settings(content_dir=repo, index_dir=tmp_path / "live")
    with pytest.raises(PlaybookError, match="neither a folder nor a git ref"):
        run_diff(settings, "no-such-ref", QUESTIONS[:1], tmp_path / "cache")
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "a.md").write_text("# A\n\ntext\n")
    with pytest.raises(PlaybookError, match="not in a git repository"):
        run_diff(Settings(content_dir=plain), "main", QUESTIONS[:1], tmp_path / "cache")


def test_golden_questions_are_the_datasets_for_this_content(tmp_path: Path) -> None:
    from ui.owners_cli import diff_questions, golden_questions

    root = Path(__file__).parent.parent
    bundled = golden_questions(root / "content")
    assert len(bundled) == len(read_questions(root / "evals" / "datasets" / "playbook.jsonl"))
    assert golden_questions(tmp_path) == []
    with pytest.raises(PlaybookError, match="No questions to compare"):
        diff_questions(Settings(content_dir=tmp_path, index_dir=tmp_path / "i"), None)
