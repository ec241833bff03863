"""Shared fixtures: real Chroma on temp dirs, the real MiniLM model, real article files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parent.parent
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never inherit PLAYBOOK_* settings from the developer's shell."""
    for key in list(os.environ):
        if key.startswith("PLAYBOOK_"):
            monkeypatch.delenv(key)


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """A writable copy of the fixture playbook."""
    target = tmp_path / "content"
    shutil.copytree(FIXTURES / "playbook", target)
    return target


# Runs cwe-dev over the gate's cached index: the test command builds that index in the
# background during setup, and the test waits for it; run alone, the test builds it (~3 min).
LONGEST_FIRST = ("test_eval_gate.py",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files holding slow tests run first (stable: each file stays whole and in order). The
    test command runs files on two workers; the longest file (the gate's cwe index, minutes)
    collected mid-way used to start late and leave the other worker idle at the end."""
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: (item.path.name not in LONGEST_FIRST, item.path not in slow))


@pytest.fixture
def settings(tmp_path: Path, content: Path):  # noqa: ANN201
    from rag.settings import Settings

    return Settings(content_dir=content, index_dir=tmp_path / "index")


@pytest.fixture(scope="session")
def count_tokens():  # noqa: ANN201
    from rag.embedder import count_tokens_factory

    return count_tokens_factory("all-MiniLM-L6-v2")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """A real `chroma run` on 127.0.0.1 (from the venv), started once, killed by pid. Yields URL."""
    import subprocess
    import sys
    import time
    import urllib.request

    port = _free_port()
    folder = tmp_path_factory.mktemp("chroma-server")
    chroma = Path(sys.executable).parent / "chroma"
    log = open(folder / "server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(folder / "db"), "--host", "127.0.0.1",
         "--port", str(port)], stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"chroma run failed: see {folder}/server.log") from None
                time.sleep(0.2)
        yield url
    finally:
        from uiserver import stop_process

        stop_process(proc, timeout=10)
        log.close()


# One `playbook serve` shared by the browser tests and the gradio_client tests.
from uiserver import ui_server  # noqa: E402, F401


@pytest.fixture(scope="session")
def trust(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """Settings on a real index of the bundled playbook (content/), built once; read-only."""
    from answers_common import ROOT, build_index

    return build_index(tmp_path_factory.mktemp("trust"), ROOT / "content")


@pytest.fixture(scope="session")
def fixtures(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """Settings on a real index of tests/fixtures/playbook, built once; read-only."""
    from answers_common import FIXTURES, build_index

    return build_index(tmp_path_factory.mktemp("fixtures"), FIXTURES / "playbook")


@pytest.fixture
def built(settings, fixtures):  # noqa: ANN001, ANN201
    """`settings` with its index already ingested: a copy of the `fixtures` index (the same
    articles, the same settings, ingested once per worker). For tests whose first ingest only
    prepares an index to damage, query or change: copying takes milliseconds, an ingest with
    the real model seconds."""
    shutil.copytree(fixtures.index_path, settings.index_path)
    return settings


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"]


def ensure_chromium() -> None:
    """Install Debian's chromium when it is missing (about a minute; needs root)."""
    import subprocess

    if CHROMIUM.exists():
        return
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            raise RuntimeError(
                f"The browser tests need Debian's chromium at {CHROMIUM}; `{' '.join(cmd)}` "
                f"failed (run it as root):\n{done.stderr[-2000:]}"
            )


@pytest.fixture(scope="module")
def browser():  # noqa: ANN201
    """Headless Chromium for one test module. Module scope on purpose: Playwright's sync API
    keeps an asyncio loop running in this thread while it is open, which would break every
    later test that calls asyncio.run (the MCP and REST clients)."""
    ensure_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()
