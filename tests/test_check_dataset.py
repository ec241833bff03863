"""evals.check_dataset: the guard run on a hand-edited question file before it is committed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.check_dataset import check_file, main

GOOD = {"id": "q-1", "split": "dev", "question": "How much leave?", "kind": "direct",
        "gold": {"refuse": False, "sources": ["leave.md"]},
        "key_points": ["4 hours per pay period", "240 hour carry over"]}
OFF = {"id": "q-off-1", "split": "test", "question": "Who won the cup?", "kind": "off-topic",
       "topic": "general", "gold": {"refuse": True}, "key_points": []}


def write(tmp_path: Path, rows: list[object]) -> Path:
    (tmp_path / "pages").mkdir(exist_ok=True)
    (tmp_path / "pages" / "leave.md").write_text(
        "# Leave\n\nYou earn 4 hours per pay period and can carry over 240 hours.\n",
        encoding="utf-8")
    path = tmp_path / "set.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_a_valid_file_has_no_problems_and_exits_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, [GOOD, OFF])
    assert check_file(path, tmp_path / "pages")[0] == []
    assert main([str(path), "--content", str(tmp_path / "pages")]) == 0
    assert "2 questions, 0 problems" in capsys.readouterr().out


def test_each_kind_of_mistake_is_reported_with_its_line(tmp_path: Path) -> None:
    missing_gold = {**GOOD, "id": "q-2", "gold": {"refuse": False, "sources": ["nope.md"]}}
    one_point = {**GOOD, "id": "q-3", "key_points": ["4 hours per pay period"]}
    duplicate = {**GOOD, "split": "train"}
    off_without_topic = {**OFF, "id": "q-off-2", "topic": ""}
    path = write(tmp_path, [GOOD, missing_gold, one_point, duplicate, off_without_topic])
    problems, _ = check_file(path, tmp_path / "pages")
    assert problems == [
        "line 2 q-2: gold 'nope.md' is not in " + str(tmp_path / "pages"),
        "line 3 q-3: needs 2-5 key points, has 1",
        "line 4 q-1: id already used on line 1",
        "line 4 q-1: split 'train' is not dev or test",
        "line 5 q-off-2: an off-topic question needs a topic",
    ]


def test_bad_json_and_a_missing_file_get_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text('{"id": "x"\n', encoding="utf-8")
    assert main([str(path)]) == 1
    assert "line 1: not JSON" in capsys.readouterr().out
    assert main([str(tmp_path / "absent.jsonl")]) == 2
    assert capsys.readouterr().err.strip() == f"No dataset file at {tmp_path / 'absent.jsonl'}."


def test_a_key_point_its_gold_article_does_not_contain_is_reported(tmp_path: Path) -> None:
    # scored by content-word overlap, such a point is missed by any answer quoting the playbook
    wrong = {**GOOD, "key_points": ["4 hours per pay period", "sick leave needs a doctor's note"]}
    problems, _ = check_file(write(tmp_path, [wrong]), tmp_path / "pages")
    assert problems == ["line 1 q-1: key point \"sick leave needs a doctor's note\" is not in "
                        "its gold article(s)"]
    assert check_file(write(tmp_path, [wrong]), None)[0] == []  # no content folder: not checked


def test_every_committed_dataset_passes_against_its_content() -> None:
    """The committed question files (npm-docs.jsonl included) have no problem the guard knows:
    gold files exist, key points are in their gold pages, splits are set on every row."""
    from evals.suites import suites

    checked = set()
    for suite in suites().values():
        if suite.dataset in checked or not suite.content_dir.is_dir():
            continue  # ../shared absent: those suites cannot be checked here
        checked.add(suite.dataset)
        problems, _ = check_file(suite.dataset, suite.content_dir)
        assert problems == [], (suite.dataset.name, problems[:3])
    assert {p.name for p in checked} >= {"playbook.jsonl", "npm-docs.jsonl"}
