"""The small-corpus check of the refusal feature search (evals/calibrate_refusal.py `--search`).

The three-article fixture playbook (tests/fixtures/playbook: building trust, code reviews, team
onboarding) is the smallest corpus the product promises to serve; tests/test_refusal.py and
tests/test_gaps.py ask it these questions and expect these decisions. A feature set whose dev
fit gets one of them wrong cannot be frozen (those tests would fail), so `--search` skips it,
as it skips a set that leaves a bundled-playbook question wrong. These rows are never fitted on.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from evals.suites import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "playbook"
# question -> True when the tests expect it answered, False when refused.
QUESTIONS = {
    "How big should a pull request be?": True,
    "How small should a pull request be?": True,
    "What should a new engineer do in the first week?": True,
    "Who won the 1998 football world cup?": False,
    "How do I book a flight for a conference?": False,
    "How do I book flights for conferences?": False,
    "Which airline should I book for a conference trip?": False,
    "How many days of parental leave do I get?": False,
    "What is the tallest mountain in Africa?": False,
}


def fixture_rows(base: Any) -> list[dict[str, Any]]:
    """One calibration row per QUESTIONS entry, on a fresh index of the fixture playbook."""
    import shutil

    from evals.calibrate_refusal import question_row
    from ingest.pipeline import run

    tmp = Path(tempfile.mkdtemp(prefix="refusal-fixture-"))
    try:
        shutil.copytree(FIXTURE, tmp / "content")
        settings = base.model_copy(update={"content_dir": tmp / "content",
                                           "index_dir": tmp / "index"})
        run(settings)
        return [{"suite": "fixture", "id": question, "refuse": not answered,
                 "topic": "fixture"} | question_row(question, settings)
                for question, answered in QUESTIONS.items()]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
