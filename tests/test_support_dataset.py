"""The labelled support set (evals/datasets/support.jsonl) keeps its invariants.

The first test checks the committed file; the others corrupt a copy of it in a temp dir and
show that the validator catches each kind of damage, so the first test can fail.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from evals.check_support import (
    DATASET,
    DEFAULT_CORPORA,
    LABELS,
    SupportDataError,
    load_rows,
    main,
    plain,
    validate,
)

MIN_PER_CATEGORY = 28

# the passages are checked against the shared corpora, which live outside the repository
pytestmark = pytest.mark.skipif(not DEFAULT_CORPORA.is_dir(),
                                reason=f"corpora folder {DEFAULT_CORPORA} not present")


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    """The committed rows."""
    return load_rows(DATASET)


def test_committed_file_is_valid(rows: list[dict]) -> None:
    assert validate(rows, min_per_category=MIN_PER_CATEGORY) == []


def test_splits_are_balanced_per_category(rows: list[dict]) -> None:
    for category in LABELS:
        mine = [r for r in rows if r["category"] == category]
        dev = sum(r["split"] == "dev" for r in mine)
        assert 0.35 <= dev / len(mine) <= 0.65, (category, dev, len(mine))


def test_every_corpus_covers_every_category(rows: list[dict]) -> None:
    pairs = Counter((r["corpus"], r["category"]) for r in rows)
    for corpus in ("playbook", "cwe-playbook", "18f-handbook"):
        for category in LABELS:
            assert pairs[(corpus, category)] > 0, (corpus, category)


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")
    return path


def _first(rows: list[dict], **match: str) -> int:
    return next(i for i, r in enumerate(rows) if all(r[k] == v for k, v in match.items()))


def _edit_passage(rows: list[dict]) -> str:
    rows[0]["passage"] = rows[0]["passage"].replace(" the ", " a ", 1)
    return "does not occur verbatim"


def _duplicate_id(rows: list[dict]) -> str:
    rows[1]["id"] = rows[0]["id"]
    return "id used 2 times"


def _wrong_label(rows: list[dict]) -> str:
    rows[_first(rows, category="reversal")]["label"] = "supported"
    return "needs label unsupported"


def _split_leak(rows: list[dict]) -> str:
    # rows of one passage sit next to each other; move one of them to the other split
    i = next(i for i in range(len(rows) - 1) if rows[i]["passage"] == rows[i + 1]["passage"])
    rows[i]["split"] = "test" if rows[i]["split"] == "dev" else "dev"
    return "in both splits"


def _fake_verbatim(rows: list[dict]) -> str:
    rows[_first(rows, category="verbatim")]["sentence"] = "Nothing like this is in the passage."
    return "not a copy of its passage"


def _copied_unsupported(rows: list[dict]) -> str:
    i = _first(rows, category="invention")
    rows[i]["sentence"] = plain(rows[i]["passage"])[:80]
    return "copied from its own passage"


def _unknown_source(rows: list[dict]) -> str:
    rows[0]["source"] = "no/such/file.md"
    return "not found in corpus"


def _citation_marker(rows: list[dict]) -> str:
    rows[0]["sentence"] += " [1]"
    return "[n] citation marker"


@pytest.mark.parametrize("damage", [_edit_passage, _duplicate_id, _wrong_label, _split_leak,
                                    _fake_verbatim, _copied_unsupported, _unknown_source,
                                    _citation_marker])
def test_validator_catches_damage(rows: list[dict], damage) -> None:
    broken = json.loads(json.dumps(rows))
    expected = damage(broken)
    errors = validate(broken)
    assert any(expected in e for e in errors), errors


def test_overlapping_passages_in_different_splits_fail(rows: list[dict]) -> None:
    row = dict(rows[_first(rows, category="paraphrase")])
    # a second passage cut from inside the first one's text, put in the other split
    row.update(id="sup-9999", passage=row["passage"][20:-20],
               split="test" if row["split"] == "dev" else "dev")
    assert any("overlapping passages" in e for e in validate([*rows, row]))


def test_too_few_rows_per_category_fail(rows: list[dict]) -> None:
    errors = validate(rows, min_per_category=10_000)
    assert len([e for e in errors if "fewer than" in e]) == len(LABELS)


def test_cli_reports_bad_json_in_one_sentence(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "support.jsonl"
    bad.write_text('{"id": "sup-0001"\n', encoding="utf-8")
    with pytest.raises(SupportDataError):
        load_rows(bad)
    assert main([str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("support.jsonl line 1: not valid JSON") and "\n" not in err


def test_cli_prints_counts_for_a_good_file(tmp_path: Path, rows: list[dict], capsys) -> None:
    assert main([str(_write(tmp_path / "s.jsonl", rows))]) == 0
    out = capsys.readouterr().out
    for category in LABELS:
        assert category in out
    assert "total" in out and str(len(rows)) in out
