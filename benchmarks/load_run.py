"""The mechanics of a load run: clients of each door, concurrent sessions, the swap watcher and
the figures (benchmarks/load_test.py runs the scenario around them)."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

STABLE = ("question", "answer", "refused", "answerer", "citations", "query", "sentences")


def stable(answer: dict[str, Any]) -> str:
    """The parts of an answer that must not change between users, replicas or generations."""
    return json.dumps({k: answer.get(k) for k in STABLE}, sort_keys=True, ensure_ascii=False)


DOORS = ("gradio", "rest")


def make_asker(url: str, door: str) -> Callable[[str], dict[str, Any]]:
    """A client of one door: question -> answer JSON (one connection, reused)."""
    if door == "rest":
        import httpx

        client = httpx.Client(base_url=url, timeout=600)

        def post(question: str) -> dict[str, Any]:
            response = client.post("/api/ask", json={"question": question})
            response.raise_for_status()
            return dict(response.json())

        return post
    from gradio_client import Client

    session = Client(url, verbose=False, download_files=False)
    return lambda question: dict(session.predict(question, api_name="/ask"))


def single_user_answers(url: str, questions: list[str]) -> dict[str, str]:
    """Each question asked once, one at a time."""
    from gradio_client import Client

    client = Client(url, verbose=False, download_files=False)
    return {q: stable(client.predict(q, api_name="/ask")) for q in questions}


@dataclass
class LoadResult:
    """Per-request outcomes of a load run."""

    latencies: list[float] = field(default_factory=list)
    spans: list[tuple[float, float]] = field(default_factory=list)  # (start, end) monotonic
    errors: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run_load(
    urls: list[str], expected: dict[str, str], sessions: int, per_session: int,
    keep_going: Callable[[], bool] = lambda: False, max_seconds: float = 900,
    door: str = "gradio",
) -> LoadResult:
    """`sessions` concurrent sessions of one door (round-robin over `urls`), each asking
    `per_session` questions, then more while `keep_going()` is true (bounded by max_seconds)."""
    result = LoadResult()
    lock = threading.Lock()
    questions = list(expected)
    started = time.monotonic()

    def session(number: int) -> None:
        rng = random.Random(number)
        try:
            ask = make_asker(urls[number % len(urls)], door)
        except Exception as exc:  # a failed connection is an error of the run, not a crash
            with lock:
                result.errors.append(f"session {number}: connect: {exc!r}")
            return
        asked = 0
        while asked < per_session or (keep_going() and time.monotonic() - started < max_seconds):
            question = rng.choice(questions)
            begin = time.monotonic()
            try:
                got = stable(ask(question))
                error = None
            except Exception as exc:
                got, error = "", f"session {number}: {question!r}: {exc!r}"
            end = time.monotonic()
            with lock:
                result.latencies.append(end - begin)
                result.spans.append((begin, end))
                if error:
                    result.errors.append(error)
                elif got != expected[question]:
                    result.mismatches.append(f"session {number}: {question!r}")
            asked += 1

    threads = [threading.Thread(target=session, args=(n,)) for n in range(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.monotonic() - started
    return result


class SwapWatcher:
    """Polls the index pointer in the background; records when the live generation changes."""

    def __init__(self, settings: Any) -> None:
        from rag.index.backend import open_store

        self.store = open_store(settings)
        self.first = self.store.current()
        self.swapped_at: float | None = None
        self.last = self.first
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(0.05):
            self.last = self.store.current()
            if self.last != self.first and self.swapped_at is None:
                self.swapped_at = time.monotonic()

    def keep_going(self) -> bool:
        """True until one second after the swap (so requests straddle it)."""
        return self.swapped_at is None or time.monotonic() - self.swapped_at < 1.0

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def in_flight_at(result: LoadResult, moment: float | None) -> int:
    """How many requests were running at `moment`."""
    if moment is None:
        return 0
    return sum(1 for begin, end in result.spans if begin <= moment <= end)


def report(result: LoadResult, extra: dict[str, Any]) -> dict[str, Any]:
    """The figures as one dict (printed as text and JSON by main)."""
    return {
        "requests": len(result.latencies), "errors": len(result.errors),
        "mismatches": len(result.mismatches),
        "p50_ms": round(result.percentile(50) * 1000, 1),
        "p95_ms": round(result.percentile(95) * 1000, 1),
        "max_ms": round(max(result.latencies, default=0) * 1000, 1),
        "throughput_rps": round(len(result.latencies) / result.seconds, 2) if result.seconds else 0,
        "seconds": round(result.seconds, 1), **extra,
    }
