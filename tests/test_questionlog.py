"""The question log: real SQLite, real asks on a real index of the fixture playbook."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from rag.answer import Answer, Citation
from rag.questionlog import NOTICE, QuestionLog, log_question, notice, serving
from rag.settings import Settings


def _answer(question: str, refused: bool = False) -> Answer:
    cites = [
        Citation(n, aid, aid.title(), "H", "text", f"{aid}.md", 0.5, "", 1, 2)
        for n, aid in ((1, "code-reviews"), (2, "building-trust"), (3, "code-reviews"))
    ]
    text = "The playbook does not cover this." if refused else "Keep it small. [1]"
    return Answer(question, text, refused, "extractive", cites, {}, query=question)


def test_record_rows_and_columns(tmp_path: Path) -> None:
    log = QuestionLog(tmp_path)
    log.record(_answer("How small should a PR be?"), 2.51)
    log.record(_answer("Best pizza?", refused=True), 0.71)
    rows = list(log.rows())
    assert [r["question"] for r in rows] == ["How small should a PR be?", "Best pizza?"]
    first, second = rows
    assert first["refused"] is False and first["relevance"] == 2.51
    assert first["top_articles"] == ["code-reviews", "building-trust"]  # distinct, in order
    assert first["cited"] == ["code-reviews"]  # only [1] appears in the answer text
    assert second["refused"] is True and second["cited"] == []
    assert first["answerer"] == "extractive" and first["user"] == ""
    assert log.citation_counts() == {"code-reviews": 1}
    with sqlite3.connect(log.path) as conn:  # the file is plain SQLite any tool can read
        assert conn.execute("SELECT count(*) FROM questions").fetchone()[0] == 2


def test_retention_deletes_old_rows_and_since_filters(tmp_path: Path) -> None:
    log = QuestionLog(tmp_path)
    now = datetime.now(UTC)
    log.record(_answer("very old"), 1.0, when=now - timedelta(days=100))
    log.record(_answer("last month"), 1.0, when=now - timedelta(days=30))
    assert len(list(log.rows())) == 2
    log.record(_answer("today"), 1.0, retention_days=90)
    assert [r["question"] for r in log.rows()] == ["last month", "today"]
    assert [r["question"] for r in log.rows(since_days=7)] == ["today"]


def test_feedback_links_to_the_latest_row_of_that_question(tmp_path: Path) -> None:
    log = QuestionLog(tmp_path)
    now = datetime.now(UTC)
    log.record(_answer("Q"), 2.0, when=now - timedelta(minutes=5))
    log.record(_answer("Q"), 2.0, when=now)
    assert log.link_feedback("fb-1", "Q", -1)
    assert log.link_feedback("fb-1", "Q", 1)  # the same answer re-rated: same row
    rows = list(log.rows())
    assert [(r["feedback_id"], r["rating"]) for r in rows] == [(None, None), ("fb-1", 1)]
    assert log.link_feedback("fb-2", "Q", -1)  # another answer to Q: the older row
    assert [r["feedback_id"] for r in log.rows()] == ["fb-2", "fb-1"]
    assert not log.link_feedback("fb-3", "never asked", -1)


def test_defaults_off_for_cli_on_for_serve_and_the_page_notice() -> None:
    assert Settings().log_questions is None
    assert serving(Settings()).log_questions is True
    assert serving(Settings(log_questions=False)).log_questions is False
    assert notice(Settings()) == "" and notice(serving(Settings())) == NOTICE
    named = Settings(log_questions=True, log_user=True, auth=SecretStr("ann:pw"))
    assert "user name" in notice(named)


def test_user_name_only_when_configured(tmp_path: Path) -> None:
    base = {"index_dir": tmp_path, "log_questions": True, "auth": SecretStr("ann:secret")}
    log_question(_answer("a"), 1.0, Settings(**base))
    log_question(_answer("b"), 1.0, Settings(**base, log_user=True))
    users = [r["user"] for r in QuestionLog(tmp_path).rows()]
    assert users == ["", "ann"]  # never the password


def test_a_broken_log_never_fails_the_answer(tmp_path: Path) -> None:
    (tmp_path / "questions.sqlite3").mkdir()  # a folder where the database should be
    log_question(_answer("a"), 1.0, Settings(index_dir=tmp_path, log_questions=True))


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    from answers_common import FIXTURES, build_index

    return build_index(tmp_path_factory.mktemp("qlog"), FIXTURES / "playbook")


def test_ask_logs_only_when_enabled(indexed: Settings) -> None:
    from rag.api import ask

    log = QuestionLog(indexed.index_path)
    ask("How small should a pull request be?", indexed)  # CLI default: not logged
    assert list(log.rows()) == []
    on = indexed.model_copy(update={"log_questions": True})
    ask("How small should a pull request be?", on)
    ask("What is the capital of Peru?", on)
    rows = list(log.rows())
    assert [r["refused"] for r in rows] == [False, True]
    assert rows[0]["relevance"] > rows[1]["relevance"]  # the refusal decision's ratio
    assert "code-reviews" in rows[0]["cited"] and rows[0]["top_articles"]
    log.path.unlink()


def test_cli_logs_with_the_environment_switch(
    indexed: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ui.cli import main

    args = ["ask", "How do reviews give feedback?", "--json",
            "--content", str(indexed.content_dir), "--index", str(indexed.index_dir)]
    assert main(args) == 0
    assert not QuestionLog(indexed.index_path).path.exists()
    monkeypatch.setenv("PLAYBOOK_LOG_QUESTIONS", "true")
    assert main(args) == 0
    answer = json.loads(capsys.readouterr().out.splitlines()[-1])
    rows = list(QuestionLog(indexed.index_path).rows())
    assert [r["question"] for r in rows] == [answer["question"]]
    QuestionLog(indexed.index_path).path.unlink()
