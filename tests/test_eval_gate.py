"""The evaluation gate: threshold semantics, the committed thresholds, and that it fails when
retrieval is deliberately broken (real index, real retrieval, the committed thresholds)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evals.gate import THRESHOLDS, check, flatten, format_checks, load_thresholds
from evals.suites import DEFAULT_CACHE, GROUPS, ROOT, resolve

RESULTS = {"suites": {"s": {
    "retrieval": {"hybrid": {"ndcg@10": 0.8, "hit@1": 0.5}},
    "answers": {"extractive": {"false_refusal_rate": 0.1}},
}}}


def test_min_max_and_missing_metrics() -> None:
    assert flatten(RESULTS)["s.retrieval.hybrid.ndcg@10"] == 0.8
    thresholds = {
        "min": {"s.retrieval.hybrid.ndcg@10": 0.75, "s.retrieval.hybrid.hit@1": 0.6,
                "s.retrieval.dense.ndcg@10": 0.1},
        "max": {"s.answers.extractive.false_refusal_rate": 0.2, "other.retrieval.x.y": 1.0},
    }
    checks = {c.key: c for c in check(RESULTS, thresholds, ["s"])}
    assert "other.retrieval.x.y" not in checks  # not a suite this gate runs
    assert checks["s.retrieval.hybrid.ndcg@10"].ok
    assert not checks["s.retrieval.hybrid.hit@1"].ok  # below its minimum
    assert not checks["s.retrieval.dense.ndcg@10"].ok  # a missing metric fails
    assert checks["s.answers.extractive.false_refusal_rate"].ok
    worse = {"suites": {"s": {"answers": {"extractive": {"false_refusal_rate": 0.3}}}}}
    assert not check(worse, {"max": thresholds["max"]}, ["s"])[0].ok  # above its maximum
    assert "FAIL s.retrieval.hybrid.hit@1" in format_checks(list(checks.values()))


def test_committed_thresholds_cover_every_gate_suite() -> None:
    thresholds = load_thresholds(THRESHOLDS)
    keys = [*thresholds["min"], *thresholds["max"]]
    for suite in GROUPS["gate"]:
        assert any(k.startswith(f"{suite}.retrieval.hybrid.") for k in keys), suite
        assert any(k.startswith(f"{suite}.answers.extractive.") for k in keys), suite
    for key in keys:
        suite, scope, _name, _metric = key.split(".", 3)
        if suite == "checker":  # the citation checker graded by human labels, per split
            assert scope in ("dev", "test"), key
            continue
        assert suite in GROUPS["gate"] and scope in ("retrieval", "answers"), key
    assert all(0.0 < v <= 1.0 for v in thresholds["min"].values())


def _retrieval_checks(results: dict[str, Any], suite: str) -> list[Any]:
    committed = load_thresholds(THRESHOLDS)
    wanted = {k: v for k, v in committed["min"].items() if k.startswith(f"{suite}.retrieval.")}
    assert wanted, f"no retrieval thresholds for {suite}"
    return check(results, {"min": wanted}, [suite])


def _run(suite: str, cache: Path) -> dict[str, Any]:
    from evals.evaluate import run_eval
    from rag.settings import Settings

    return run_eval(suite, Settings(), answerers=[], cache=cache)


def _broken(monkeypatch: pytest.MonkeyPatch, damage: Callable[[list[Any]], list[Any]]) -> None:
    import rag.retrieve

    original = rag.retrieve.search

    def search(*args: Any, **kwargs: Any) -> list[Any]:
        return damage(original(*args, **kwargs))

    monkeypatch.setattr(rag.retrieve, "search", search)


@pytest.mark.slow
def test_eval_report_then_gate_fails_when_retrieval_returns_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ui.cli import main

    out = tmp_path / "results"
    code = main(["eval", "--suite", "playbook", "--llm", "extractive", "--out", str(out),
                 "--cache", str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    assert "== playbook" in capsys.readouterr().out
    for name in ("results.json", "report.md", "retrieval.png", "answers.png", "latency.png"):
        assert (out / name).stat().st_size > 0, name
    results = json.loads((out / "results.json").read_text())
    report = (out / "report.md").read_text()
    assert "| hybrid |" in report and "| extractive |" in report and "Misses in" in report
    # The checker's human-label grading is the same for every suite: a group run does it.
    assert "checker" not in results and "Not graded in a one-suite run" in report
    assert len(results["suites"]["playbook"]["records"]["answers"]["extractive"]) == 46
    healthy = _retrieval_checks(results, "playbook")
    assert all(c.ok for c in healthy), format_checks(healthy)
    _broken(monkeypatch, lambda hits: [])
    broken = _retrieval_checks(_run("playbook", tmp_path), "playbook")
    assert not any(c.ok for c in broken), format_checks(broken)


@pytest.mark.slow
def test_gate_fails_when_ranking_is_reversed(monkeypatch: pytest.MonkeyPatch) -> None:
    """cwe-dev through the gate's own cached index: the test command builds it in the background
    before pytest starts (this test then waits for that build), run alone the test builds it."""
    if not resolve("cwe-dev")[0].content_dir.is_dir():
        pytest.skip("../shared/corpora/cwe-playbook is not beside the project")
    healthy = _retrieval_checks(_run("cwe-dev", DEFAULT_CACHE), "cwe-dev")
    assert all(c.ok for c in healthy), format_checks(healthy)
    _broken(monkeypatch, lambda hits: list(reversed(hits)))
    broken = _retrieval_checks(_run("cwe-dev", DEFAULT_CACHE), "cwe-dev")
    failed = [c for c in broken if not c.ok]
    assert any(".hybrid.ndcg@10" in c.key for c in failed), format_checks(broken)


def test_a_second_build_of_a_cached_index_waits_for_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CI builds the gate's indexes in the background while pytest may build cwe-dev's too: a
    second builder waits for the first (then finds the index up to date) rather than failing
    on ingest's lock or writing the same index at the same time."""
    import subprocess
    import sys
    import threading

    import ingest.pipeline
    from evals.suites import build_index, build_lock
    from rag.settings import Settings

    settings = Settings.model_validate({"index_dir": tmp_path / "corpus" / "index"})
    ran = threading.Event()

    class Report:
        def to_json(self) -> dict[str, object]:
            return {}

    def run(_settings: Settings) -> Report:
        ran.set()
        return Report()

    monkeypatch.setattr(ingest.pipeline, "run", run)
    holder = subprocess.Popen(  # another process building the same index
        [sys.executable, "-c", "import sys, filelock; lock = filelock.FileLock(sys.argv[1]); "
         "lock.acquire(); print('held', flush=True); sys.stdin.read()", str(build_lock(
             settings.index_dir))],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        worker = threading.Thread(target=build_index, args=(settings,), daemon=True)
        worker.start()
        assert not ran.wait(1.5), "built while another process held the index's build lock"
    finally:
        holder.communicate("")  # the other builder finishes: its lock goes with it
    worker.join(30)
    assert ran.is_set() and not worker.is_alive()


def test_gate_command_is_wired_into_ci() -> None:
    script = (ROOT / "scripts" / "quickstart.sh").read_text()
    assert "evals.gate" in script
