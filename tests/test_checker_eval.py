"""The citation checker graded by human labels: scoreboard arithmetic, the committed checker
thresholds on the real labelled set (evals/datasets/support.jsonl), and that the gate fails
when the checker stops rejecting anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.checker_eval import DATA, format_board, load_rows, run, scoreboard
from evals.checker_report import checker_section, flatten_checker
from evals.gate import THRESHOLDS, check, format_checks, load_thresholds
from rag.errors import PlaybookError

ROWS = [
    {"category": "verbatim", "label": "supported"},
    {"category": "verbatim", "label": "supported"},
    {"category": "reversal", "label": "unsupported"},
    {"category": "reversal", "label": "unsupported"},
]


def test_scoreboard_counts_false_accepts_and_recall() -> None:
    board = scoreboard(ROWS, [True, False, True, False])
    assert board["verbatim"]["supported_kept"] == 0.5
    assert board["verbatim"]["unsupported_shown"] is None
    assert board["reversal"]["unsupported_shown"] == 0.5
    assert board["overall"] == {"rows": 4, "unsupported": 2, "supported": 2,
                                "unsupported_shown": 0.5, "supported_kept": 0.5}
    assert list(board)[-1] == "overall"
    assert "reversal" in format_board(board, "title")


def test_scoreboard_adds_one_overall_line_per_corpus_after_overall() -> None:
    rows = [{**row, "corpus": name} for row, name in zip(ROWS, ("a", "b", "a", "b"), strict=True)]
    board = scoreboard(rows, [True, False, True, False])
    assert list(board)[-3:] == ["overall", "corpus:a", "corpus:b"]
    assert board["corpus:a"] == {"rows": 2, "unsupported": 1, "supported": 1,
                                 "unsupported_shown": 1.0, "supported_kept": 1.0}
    assert board["corpus:b"]["unsupported_shown"] == 0.0
    assert "corpus:b" in format_board(board, "title")


def test_bad_label_file_gives_one_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "support.jsonl"
    broken.write_text('{"id": "x", "passage": "p", "sentence": "s", "label": "maybe"}\n')
    with pytest.raises(PlaybookError, match="lacks a passage or label"):
        load_rows(broken)
    broken.write_text("{not json\n")
    with pytest.raises(PlaybookError, match="Cannot read"):
        load_rows(broken)


@pytest.fixture(scope="module")
def boards() -> dict:
    if not DATA.is_file():
        pytest.skip("evals/datasets/support.jsonl is missing")
    return run()


@pytest.mark.slow
def test_checker_passes_its_committed_thresholds(boards: dict) -> None:
    results = {"checker": boards}
    checks = [c for c in check(results, load_thresholds(THRESHOLDS), []) if
              c.key.startswith("checker.")]
    assert len(checks) >= 10 and all(c.ok for c in checks), format_checks(checks)
    assert set(boards) == {"dev", "test"}
    section = checker_section(results)
    assert "Citation checker (human labels)" in section and "self-graded" in section
    assert "| reversal |" in section


@pytest.mark.slow
def test_gate_fails_a_checker_that_accepts_everything(boards: dict) -> None:
    lenient = run(verdicts=lambda rows: [True] * len(rows))
    flat = flatten_checker({"checker": lenient})
    assert flat["checker.test.overall.unsupported_shown"] == 1.0
    checks = [c for c in check({"checker": lenient}, load_thresholds(THRESHOLDS), [])
              if c.key.startswith("checker.")]
    failed = {c.key for c in checks if not c.ok}
    assert "checker.test.overall.unsupported_shown" in failed
    assert "checker.test.reversal.unsupported_shown" in failed


def test_learned_model_constants_are_what_the_dev_fit_gives() -> None:
    """rag/support_model.py's frozen weights and the Settings threshold (with the Settings
    floor) come from `python -m evals.checker_fit` on the DEV rows (refitted here; test rows
    are not used)."""
    if not DATA.is_file():
        pytest.skip("evals/datasets/support.jsonl is missing")
    from evals.checker_fit import MIN_KEPT, fit, measure, threshold
    from rag import support_model
    from rag.settings import Settings

    dev = measure(load_rows(split="dev"))
    weights, intercept = fit(dev, support_model.FEATURES, 3.0)
    for name, frozen in support_model.WEIGHTS.items():
        assert weights[name] == pytest.approx(frozen, rel=0.01, abs=0.01), name
    assert intercept == pytest.approx(support_model.INTERCEPT, rel=0.01)
    floor = Settings.model_fields["support_learned_floor"].default
    assert threshold(dev, (weights, intercept), MIN_KEPT, floor) == \
        Settings.model_fields["support_learned_threshold"].default


def test_checker_late_reads_pooled_passage_vectors() -> None:
    """evals.checker_late grades the checker twice: exact passage vectors, then late ones
    pooled from the passage's own run (no late index given); the claims are encoded alike."""
    import contextvars

    import numpy as np

    from evals.checker_late import grade
    from rag.text import units
    from rag.vector_cache import VECTORS, default_embedder

    rows = load_rows(DATA, "dev")[:3]

    def both() -> tuple[dict, np.ndarray, np.ndarray]:
        result = grade(rows, None)
        texts = [u.text for u in units(rows[0]["passage"])]
        late = VECTORS.encode(texts, default_embedder())
        VECTORS.use("checker-exact", "exact")
        return result, late, VECTORS.encode(texts, default_embedder())

    try:  # in a context of its own: grade marks this thread as reading late tables
        result, late, exact = contextvars.copy_context().run(both)
    finally:  # forget the late vectors, keep the tables other tests' indexes attached
        VECTORS.attach("late:pooled", "", None)
        VECTORS.clear()
    assert result["exact"]["overall"]["rows"] == result["late"]["overall"]["rows"] == 3
    assert result["pooled_here"] == result["sentences"] > 0 and result["from_index"] == 0
    assert np.allclose(np.linalg.norm(late, axis=1), 1.0, atol=1e-3)
    assert not np.allclose(late, exact, atol=1e-2)  # the chunk's context moves them


def test_checker_fit_cross_validation_keeps_a_passages_rows_together(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`evals.checker_fit.cross_validated` folds by passage: no fold's model is fitted on a row
    sharing a passage with a row it scores (rows of one passage share their words)."""
    from evals import checker_fit
    from rag import support_model

    rows = [{"passage": f"p{i % 7}", "refuse": i % 3 == 0, "veto": "",
             "features": dict.fromkeys(support_model.FEATURES, float(i % 5))}
            for i in range(40)]
    trained: list[set[str]] = []

    def fit(train: list, features: tuple, l2: float) -> tuple[dict, float]:
        trained.append({r["passage"] for r in train})
        return dict.fromkeys(features, 0.0), 0.0

    monkeypatch.setattr(checker_fit, "fit", fit)
    checker_fit.cross_validated(rows, 3.0, 0.5, folds=5, seed=1)
    assert len(trained) == 5
    passages = {r["passage"] for r in rows}
    held = [passages - seen for seen in trained]
    assert all(held) and set().union(*held) == passages
    assert sum(len(h) for h in held) == len(passages)  # each passage held out exactly once
