"""Benchmark plumbing: the table updater and a tiny end-to-end retrieval benchmark run.

These check that the scripts work, never how fast anything is (figures live in BENCHMARKS.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT))  # benchmarks/ is a folder of scripts, not an installed package

from benchmarks.common import TABLE_END, TABLE_START, Row, update_table  # noqa: E402
from benchmarks.synthetic import write_corpus  # noqa: E402

pytestmark = pytest.mark.slow  # starts servers or several processes: not in the fast tier


def test_update_table_replaces_only_its_own_rows(tmp_path: Path) -> None:
    doc = tmp_path / "BENCHMARKS.md"
    doc.write_text("# Benchmarks\n\nIntro.\n", encoding="utf-8")
    update_table([Row("a", "1 ms", "≤ 2 ms", "met", "python x"), Row("b", "x | y")], "d1", doc)
    update_table([Row("c", "3")], "d2", doc)
    update_table([Row("a", "5 ms", "≤ 2 ms", "not met: load", "python x")], "d3", doc)
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n\nIntro.\n")
    table = text.split(TABLE_START)[1].split(TABLE_END)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ")][1:]
    assert [r.split(" | ")[0] for r in rows] == ["| a", "| b", "| c"]
    assert "5 ms" in rows[0] and "not met: load" in rows[0] and "d3" in rows[0]
    assert "x \\| y" in rows[1] and "d1" in rows[1]


def test_synthetic_corpus_is_seeded_markdown(tmp_path: Path) -> None:
    first = [p.read_text() for p in write_corpus(tmp_path / "a", 4, seed=3)]
    again = [p.read_text() for p in write_corpus(tmp_path / "b", 4, seed=3)]
    other = [p.read_text() for p in write_corpus(tmp_path / "c", 4, seed=4)]
    assert first == again and first != other
    assert all(t.startswith("---\nid: synthetic-") and "\n## " in t for t in first)


def test_retrieval_benchmark_runs_on_a_tiny_index(tmp_path: Path) -> None:
    """Random-vector build + latency measurement end to end, without touching BENCHMARKS.md."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_retrieval", "--sizes", "150", "--real-max", "0",
         "--quick", "--no-update", "--work", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=True,
    )
    result = json.loads(done.stdout)["results"][0]
    assert result["vectors"] == "random" and result["chunks"] >= 100
    for mode in ("dense", "bm25", "hybrid"):
        assert 0 < result[mode]["p50_ms"] <= result[mode]["p95_ms"]
    assert result["index_mb"] > 0
