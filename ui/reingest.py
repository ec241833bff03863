"""Re-ingest from the page: `ingest.run` in a background thread while questions keep flowing.

The index swaps generations atomically and `rag.index.load_index` re-reads CURRENT on every
question, so answers come from the old generation until the new one is complete.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from rag.errors import PlaybookError
from rag.settings import Settings


@dataclass
class JobState:
    """What the side panel shows about the last re-ingest."""

    running: bool = False
    message: str = ""
    done: int = 0
    total: int = 0
    started: float = 0.0


class ReingestJob:
    """At most one re-ingest at a time per server."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.state = JobState()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """Start a re-ingest; False when one is already running."""
        with self._lock:
            if self.state.running:
                return False
            self.state = JobState(running=True, message="Re-ingesting…", started=time.time())
            self._thread = threading.Thread(target=self._run, name="reingest", daemon=True)
            self._thread.start()
            return True

    def wait(self, timeout: float | None = None) -> None:
        """Block until the running job ends (tests and the CLI)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _progress(self, done: int, total: int) -> None:
        self.state.done, self.state.total = done, total

    def _run(self) -> None:
        from ingest.pipeline import run

        try:
            report = run(self.settings, progress=self._progress)
            skipped = f", {len(report.skipped)} skipped" if report.skipped else ""
            message = (
                f"Re-ingested in {report.seconds:.1f}s: {report.articles} articles, "
                f"{report.chunks} chunks ({report.added} added, {report.updated} updated, "
                f"{report.removed} removed{skipped})."
            )
        except PlaybookError as exc:
            message = f"Re-ingest failed: {exc}"
        except Exception as exc:  # keep the server alive; the old index stays live
            message = f"Re-ingest failed ({type(exc).__name__}: {exc}); the old index stays live."
        with self._lock:
            self.state.running = False
            self.state.message = message

    def status_text(self) -> str:
        """One line for the side panel."""
        state = self.state
        if state.running:
            if state.total:
                return f"Re-ingesting… embedded {state.done}/{state.total} chunks."
            return "Re-ingesting… questions are answered from the current index meanwhile."
        return state.message
