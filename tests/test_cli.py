"""The command line end to end, as a new process: JSON contracts, exit codes, messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def playbook(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYBOOK_")}
    return subprocess.run(
        [sys.executable, "-m", "ui.cli", *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=300,
    )


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    index = tmp_path_factory.mktemp("cli") / "index"
    done = playbook("ingest", "--content", str(ROOT / "content"), "--index", str(index), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report) == {"articles", "added", "updated", "removed", "unchanged", "chunks",
                           "skipped", "seconds"}
    assert report["articles"] == 1 and report["added"] == 1 and report["skipped"] == []
    return index


def test_ask_json_contract_cites_building_trust_with_tactics(indexed: Path) -> None:
    done = playbook("ask", "How do I approach a tribal team?", "--json", "--index", str(indexed))
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert {"question", "answer", "refused", "answerer", "citations", "timings_ms"} <= set(answer)
    assert set(answer["timings_ms"]) >= {"retrieve", "generate", "total"}
    first = answer["citations"][0]
    assert first["article_id"] == "building-trust"
    assert first["source"] == "building-trust.md"
    assert "Assume positive intent" in first["text"] and "commiserate" in first["text"]
    for key, kind in [("n", int), ("title", str), ("heading", str), ("score", float)]:
        assert isinstance(first[key], kind)
    numbers = {c["n"] for c in answer["citations"]}
    import re

    assert {int(n) for n in re.findall(r"\[(\d+)\]", answer["answer"])} <= numbers


def test_ask_prints_readable_sources(indexed: Path) -> None:
    done = playbook("ask", "how do I approach a tribal team", "--index", str(indexed), "-k", "2")
    assert done.returncode == 0, done.stderr
    assert "Sources:" in done.stdout and "[1] Building Trust" in done.stdout


@pytest.mark.parametrize("question", ["", "   ", "\t\n", "?!..."])
def test_empty_question_is_a_user_error(indexed: Path, question: str) -> None:
    done = playbook("ask", question, "--index", str(indexed))
    assert done.returncode == 1
    assert done.stderr.startswith("error: The question") and done.stderr.count("\n") == 1


def test_missing_index_tells_the_user_to_ingest(tmp_path: Path) -> None:
    done = playbook("ask", "anything", "--index", str(tmp_path / "nowhere"))
    assert done.returncode == 1
    assert "run `playbook ingest` first" in done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1


@pytest.mark.slow
def test_strict_ingest_exits_1_naming_the_file(tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    (content / "ok.md").write_text("# Fine\n\ntext\n")
    (content / "bad.md").write_bytes(b"---\ntitle: [\n---\n")
    done = playbook("ingest", "--content", str(content), "--index", str(tmp_path / "i"), "--strict")
    assert done.returncode == 1 and "bad.md" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "i" / "CURRENT").exists()
    loose = playbook("ingest", "--content", str(content), "--index", str(tmp_path / "i"))
    assert loose.returncode == 0 and "warning: skipped bad.md" in loose.stderr


def test_missing_content_folder(tmp_path: Path) -> None:
    done = playbook("ingest", "--content", str(tmp_path / "none"), "--index", str(tmp_path / "i"))
    assert done.returncode == 1 and "does not exist" in done.stderr


def test_usage_error_exits_2() -> None:
    assert playbook("ask").returncode == 2
    assert playbook("frobnicate").returncode == 2
