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
         "--real-texts", "16", "--quick", "--no-update", "--work", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=True,
    )
    result = json.loads(done.stdout)["results"][0]
    assert result["vectors"] == "random" and result["chunks"] >= 100
    for mode in ("dense", "bm25", "hybrid"):
        assert 0 < result[mode]["p50_ms"] <= result[mode]["p95_ms"]
    assert result["index_mb"] > 0


def test_ingest_rows_judge_the_default_against_its_own_model() -> None:
    from benchmarks.ingest_rows import rows_for

    full = {"chunks": 2561, "raw": "default", "raw_chunks_per_s": 4.0, "runtimes": {
        "onnx": {"chunks_per_s": 1.0, "mb_per_s": 0.001, "ratio_to_raw": 0.238,
                 "sentences": 15173}}}
    (row,) = rows_for("18f-handbook", {"full": full})
    assert row.figure == "ingest throughput, 18f, onnx"
    assert "15173 sentence vectors; 0.238 × the default's own model" in row.measured
    assert row.target == "≥ 0.9 × raw" and row.status.startswith("not met")


def test_coldstart_rows_carry_the_breakdown_and_target() -> None:
    from benchmarks.bench_coldstart import rows_for

    result = {"label": "playbook", "target_s": 1.0,
              "onnx": {"median_wall_s": 0.9, "median_cpu_s": 1.1, "wall_s": [0.9] * 5,
                       "in_process_total_ms": 300.0},
              "imports_ms": {"(all)": 400.0, "rag": 300.0},
              "breakdown": {"steps_ms": {"refusal check": 40.0, "citation check": 0.0}}}
    (row,) = rows_for(result)
    assert row.figure == "cold `playbook ask --json`, playbook"
    assert row.target == "≤ 1.0 s" and row.status == "met"
    assert "refusal check 40" in row.measured and "citation check" not in row.measured
