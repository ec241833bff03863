"""The SQLite feedback store and `playbook feedback export`."""

from __future__ import annotations

import io
import json
import sqlite3
import threading
from pathlib import Path

from rag.feedback import FeedbackStore
from ui.cli import main


def answer_json(question: str = "How do I approach a tribal team?") -> dict[str, object]:
    cite = {"n": 1, "article_id": "building-trust", "title": "Building Trust",
            "heading": "Building Trust", "text": "Assume positive intent.",
            "source": "building-trust.md", "score": 0.61, "anchor": "", "spans": [[0, 23]]}
    other = {**cite, "n": 2, "article_id": "code-reviews", "title": "Code Reviews",
             "source": "code-reviews.md"}
    return {"question": question, "answer": "Assume positive intent. [1]", "refused": False,
            "answerer": "extractive", "citations": [cite, other], "query": question,
            "timings_ms": {}, "sentences": [], "notice": ""}


def test_thumbs_comment_and_wrong_marks_end_in_one_row(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "index")
    store.record("a1", answer_json(), rating=1)
    store.record("a1", answer_json(), comment="  helpful  ", wrong=[2, 2])
    rows = list(store.rows())
    assert len(rows) == 1
    row = rows[0]
    assert row["rating"] == 1 and row["comment"] == "helpful" and row["wrong_citations"] == [2]
    assert row["question"] == "How do I approach a tribal team?"
    assert row["citations"][0]["article_id"] == "building-trust" and row["created"]
    store.record("a1", answer_json(), rating=-1)
    assert next(store.rows())["rating"] == -1
    store.record("a1", answer_json(), rating=0)  # cleared
    assert next(store.rows())["rating"] is None
    assert store.path == tmp_path / "index" / "feedback.sqlite3"
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT count(*) FROM feedback").fetchone() == (1,)


def test_export_gives_candidate_cases(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path)
    store.record("good", answer_json(), rating=1, wrong=[2])
    store.record("bad", answer_json("Who wrote this?"), rating=-1, wrong=[1], comment="off")
    out = io.StringIO()
    assert store.export(out) == 2
    cases = [json.loads(line) for line in out.getvalue().splitlines()]
    good = next(c for c in cases if c["id"] == "good")
    bad = next(c for c in cases if c["id"] == "bad")
    assert good["rating"] == "up" and good["expected_articles"] == ["building-trust"]
    assert good["wrong_sources"][0]["article_id"] == "code-reviews"
    assert bad["rating"] == "down" and bad["expected_articles"] == []
    assert bad["comment"] == "off" and bad["wrong_sources"][0]["n"] == 1


def test_parallel_writers_do_not_lose_rows(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path)
    threads = [
        threading.Thread(target=store.record, args=(f"id{i}", answer_json()), kwargs={"rating": 1})
        for i in range(12)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(list(store.rows())) == 12


def test_cli_export_writes_jsonl(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    index = tmp_path / "index"
    FeedbackStore(index).record("x", answer_json(), rating=1, comment="ok")
    out = tmp_path / "feedback.jsonl"
    assert main(["feedback", "export", "--index", str(index), "--out", str(out)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["comment"] for x in lines] == ["ok"]
    assert "Exported 1 feedback rows" in capsys.readouterr().err
    assert main(["feedback", "export", "--index", str(index)]) == 0
    assert json.loads(capsys.readouterr().out)["question"] == "How do I approach a tribal team?"


def test_cli_export_with_no_feedback_is_empty(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    assert main(["feedback", "export", "--index", str(tmp_path / "none")]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "Exported 0" in captured.err
