"""A real `playbook serve` for the UI tests: a tmp copy of the fixture playbook plus an article full
of hostile markup, ingested for real, served on a free 127.0.0.1 port, killed by pid.

Imported by tests/conftest.py so the browser tests and the gradio_client tests share one server.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parent.parent

# A realistic article that quotes hostile markup: it must show as text, run nothing. Quoted as
# code, as Markdown shows markup to readers: raw HTML elements in prose are not content (ingest
# drops their tags, and a <script> whole, as the rendered page would not show them).
XSS_ARTICLE = """---
id: incident-reports
title: Writing Incident Reports
---

# Writing incident reports

Write the incident report within two days, while memories are fresh, and keep it blameless.
Quote error messages exactly as they appeared, even when they contain markup such as
`<script>window.__xss = 1</script>` or `<img src=x onerror="window.__xss = 2">`, so readers see
what the customer saw.
"""


@dataclass
class Served:
    """The running server: its URL, folders and log."""

    url: str
    content: Path
    index: Path
    log: Path
    pid: int

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """The test environment without PLAYBOOK_* settings from the developer's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYBOOK_")}
    env.update(HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
               ANONYMIZED_TELEMETRY="False", PYTHONUNBUFFERED="1", **extra)
    return env


def playbook(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> (
    subprocess.CompletedProcess[str]
):
    """Run the real CLI in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "ui.cli", *args], cwd=ROOT, env=env or clean_env(),
        capture_output=True, text=True, timeout=timeout,
    )


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """Stop a server the tests started: SIGTERM by pid, SIGKILL if it does not exit in time."""
    if proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)


def wait_for(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 240) -> None:
    """Until the page answers and warm-up is done (or the server died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"playbook serve exited early:\n{log.read_text()}")
        text = log.read_text(errors="replace")
        if "Ready:" in text or "Warm-up skipped" in text:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
        time.sleep(0.5)
    raise RuntimeError(f"playbook serve not ready after {timeout}s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory: pytest.TempPathFactory, fixtures):  # noqa: ANN001, ANN201
    """Ingest a tmp playbook and serve it; yields Served; kills the server by pid.

    The index starts as a copy of the session's fixture-playbook index (`fixtures`, the same
    three articles), so the ingest here embeds only the added article, in this process: a
    `playbook ingest` subprocess cost an import and a model load per worker. (The CLI's
    ingest is tested in test_cli, test_crash and test_rest_api.)"""
    from ingest.pipeline import run
    from rag.settings import Settings

    base = tmp_path_factory.mktemp("ui")
    content, index = base / "content", base / "index"
    shutil.copytree(FIXTURES / "playbook", content)
    (content / "incident-reports.md").write_text(XSS_ARTICLE, encoding="utf-8")
    shutil.copytree(fixtures.index_path, index)
    report = run(Settings(content_dir=content, index_dir=index))
    assert (report.added, report.unchanged, report.skipped) == (1, 3, []), report
    port = free_port()
    log = base / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ui.cli", "serve", "--content", str(content),
             "--index", str(index), "--port", str(port)],
            # The page tests check streaming, not the local model's first-token budget (that is
            # test_llm_local's): on a busy CI machine a 4 s budget would fall back to extractive.
            cwd=ROOT, env=clean_env(PLAYBOOK_LLM_FIRST_TOKEN_TIMEOUT="60"), stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for(url, proc, log)
        yield Served(url, content, index, log, proc.pid)
    finally:
        stop_process(proc)
