"""A small version of benchmarks/load_test.py for CI: 5 concurrent gradio_client sessions x 3
questions on two real `playbook serve` replicas sharing one real Chroma server, with
`playbook ingest --rebuild` swapping the index during the load. Figures are printed (-s), not
asserted: correctness is (0 errors, answers identical to single-user ones, replicas agree).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.load_test import DEFAULT_CONTENT, scenario  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.server]


def test_concurrent_sessions_two_replicas_and_reingest(chroma_server: str) -> None:
    figures = scenario(DEFAULT_CONTENT, sessions=5, questions=3, replicas=2,
                       chroma_url=chroma_server)
    print("\nload:", figures)
    assert figures["replicas_agree"]
    assert figures["errors"] == 0, figures["error_samples"]
    assert figures["mismatches"] == 0, figures["mismatch_samples"]
    assert figures["requests"] >= 15
    first, last = figures["generations"].split("->")
    assert first != last  # the re-ingest swapped generations during the load ...
    assert figures["in_flight_at_swap"] >= 1  # ... while requests were being answered
