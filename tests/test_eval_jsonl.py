"""The one JSONL reader of evals/: objects back, or one sentence naming the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.jsonl import read_objects
from rag.errors import PlaybookError


def test_objects_are_read_and_blank_lines_skipped(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"id": 1}\n\n  \n{"id": 2, "text": "é"}\n', encoding="utf-8")
    assert read_objects(path) == [{"id": 1}, {"id": 2, "text": "é"}]


@pytest.mark.parametrize(("content", "words"), [
    ('{"id": 1}\n{"id": 2\n', "rows.jsonl line 2: not valid JSON"),
    ('{"id": 1}\n\n[1, 2]\n', "rows.jsonl line 3: not a JSON object"),
    (b"\xff\xfe{}\n", "not UTF-8 text"),
    (None, "No such file"),
])
def test_a_bad_file_is_one_sentence_naming_the_line(
    tmp_path: Path, content: str | bytes | None, words: str
) -> None:
    path = tmp_path / "rows.jsonl"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(PlaybookError) as raised:
        read_objects(path)
    message = str(raised.value)
    assert words in message and "\n" not in message and message.endswith(".")
