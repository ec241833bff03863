"""`playbook eval` progress: suite, question n of N, ETA on stderr, throttled, never on stdout."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from evals.runner import SuiteProgress

ROOT = Path(__file__).parent.parent


def test_progress_lines_are_throttled_and_count_every_stage() -> None:
    now = [0.0]
    lines: list[str] = []
    ticker = SuiteProgress("cwe-dev", 4, ["retrieval", "extractive"], lines.append, every=5.0,
                           clock=lambda: now[0])
    for _ in range(8):
        now[0] += 2.0  # a question every 2 s: one line per 5 s at most, plus the last one
        ticker("q")
    assert lines == [
        "cwe-dev: question 3 of 4 (retrieval), ETA 10 s",
        "cwe-dev: question 2 of 4 (extractive), ETA 4 s",
        "cwe-dev: question 4 of 4 (extractive), done",
    ]
    slow = SuiteProgress("18f-dev", 100, ["retrieval"], lines.append, every=0.0,
                         clock=lambda: now[0])
    now[0] += 90.0
    slow("q")
    assert lines[-1] == "18f-dev: question 1 of 100 (retrieval), ETA 148 min 30 s"


@pytest.mark.slow
def test_eval_command_prints_progress_on_stderr_only(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ui.cli", "eval", "--suite", "playbook", "--llm", "extractive",
         "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "out"),
         "--progress-every", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    ticks = re.findall(r"^\.\.\. playbook: question (\d+) of (\d+) \((\w+)\), (ETA [\w ]+|done)$",
                       done.stderr, re.M)
    total = int(ticks[0][1])
    assert [(int(n), stage) for n, _, stage, _ in ticks] == [
        (n, stage) for stage in ("retrieval", "extractive") for n in range(1, total + 1)]
    assert ticks[-1][3] == "done" and all(t[3].startswith("ETA") for t in ticks[:-1])
    assert "question" not in done.stdout and "== playbook" in done.stdout
