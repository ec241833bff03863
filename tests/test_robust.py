"""Issue 14: hung servers, tracebacks and page limits. Each test is a repro of the issue, run
against real parts (a real `chroma run` stopped with SIGSTOP, the real CLI in a subprocess, a
real `playbook serve`), and failed before the fix."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from uiserver import ROOT, clean_env, free_port, playbook, stop_process

from ingest.pipeline import run
from rag.api import ask
from rag.errors import IndexCorruptError
from rag.feedback import FeedbackStore
from rag.index.folders import current_generation
from rag.settings import Settings

QUESTION = "How do I approach a tribal team?"


def _one_sentence(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, stderr
    return lines[0]


# --- settings errors name the setting, its variable and the allowed values -------------------

@pytest.mark.parametrize(("args", "env", "words"), [
    (["-k", "0"], {}, ["top_k", "-k", "PLAYBOOK_TOP_K", "0", "from 1 to 50"]),
    ([], {"PLAYBOOK_RETRIEVAL": "fuzzy"}, ["retrieval", "PLAYBOOK_RETRIEVAL", "'fuzzy'",
                                            "one of hybrid, dense, bm25"]),
    ([], {"PLAYBOOK_CHROMA_TIMEOUT": "-1"}, ["chroma_timeout", "PLAYBOOK_CHROMA_TIMEOUT",
                                              "above 0"]),
    ([], {"PLAYBOOK_EMBED_INT8": "maybe"}, ["embed_int8", "true or false"]),
])
def test_invalid_settings_name_the_setting_and_allowed_values(
    tmp_path: Path, args: list[str], env: dict[str, str], words: list[str]
) -> None:
    done = playbook("ask", "x", "--index", str(tmp_path), *args, env=clean_env(**env))
    assert done.returncode == 1
    line = _one_sentence(done.stderr)
    for word in words:
        assert word in line, line
    assert "validation error" not in line


def test_settings_read_the_environment_in_any_case_and_arguments_win(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAYBOOK_TOP_K", "7")
    monkeypatch.setenv("playbook_llm", "openai")
    monkeypatch.setenv("PLAYBOOK_FRONT_MATTER_ALIASES", '{"title": ["name", "heading"]}')
    monkeypatch.setenv("PLAYBOOK_NOT_A_SETTING", "ignored")
    settings = Settings()
    assert (settings.top_k, settings.llm) == (7, "openai")
    assert settings.front_matter_aliases == {"title": ["name", "heading"]}
    assert Settings(top_k=3).top_k == 3 and Settings.model_validate({}).top_k == 7
    monkeypatch.delenv("PLAYBOOK_TOP_K")
    assert Settings().top_k == Settings.model_fields["top_k"].default


# --- the CLI: broken pipe, read-only index, unwritable export ---------------------------------

def test_broken_pipe_exits_quietly(trust: Settings) -> None:
    """`playbook ask x | head -1`: the reader is gone before the answer is written."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "ask", QUESTION, "--index", str(trust.index_path),
         "--content", str(trust.content_path)],
        cwd=ROOT, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # like `head -1` after its line: every write now fails with EPIPE
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 0
    assert stderr.strip() == "", stderr


def test_feedback_export_to_a_missing_folder_is_one_sentence(tmp_path: Path) -> None:
    done = playbook("feedback", "export", "--index", str(tmp_path),
                    "--out", "/nonexistent/x.jsonl")
    assert done.returncode == 1
    line = _one_sentence(done.stderr)
    assert "/nonexistent/x.jsonl" in line and "no such file" in line.lower()


def _unprivileged() -> list[str]:
    """A command prefix that makes permissions apply: root ignores them unless it gives up the
    capabilities that override them (util-linux `setpriv`)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: permissions cannot apply")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


def test_read_only_index_is_one_sentence(trust: Settings, tmp_path: Path) -> None:
    """`playbook ingest` and `ask` on an index folder nobody may write (LOCK cannot be made)."""
    index = tmp_path / "index"
    shutil.copytree(trust.index_path, index)
    (index / "LOCK").unlink(missing_ok=True)
    for path in (index, *index.rglob("*")):
        path.chmod(0o555 if path.is_dir() else 0o444)
    command = [*_unprivileged(), sys.executable, "-m", "ui.cli"]
    where = ["--content", str(trust.content_path), "--index", str(index)]
    try:
        ingest = subprocess.run([*command, "ingest", *where], cwd=ROOT, env=clean_env(),
                                text=True, capture_output=True, timeout=300)
        assert ingest.returncode == 1
        line = _one_sentence(ingest.stderr)
        assert "LOCK" in line and "permission denied" in line.lower()
        asked = subprocess.run([*command, "ask", QUESTION, *where], cwd=ROOT, env=clean_env(),
                               text=True, capture_output=True, timeout=300)
        if asked.returncode == 0:  # reading needs no write: an answer is fine
            assert "trust" in asked.stdout.lower() and "Traceback" not in asked.stderr
        else:
            assert "permission denied" in _one_sentence(asked.stderr).lower()
    finally:
        for path in (index, *index.rglob("*")):
            path.chmod(0o755 if path.is_dir() else 0o644)


# --- vectors validated when a generation is opened -------------------------------------------

@pytest.mark.parametrize("poison", ["zeros", "nan"])
def test_poisoned_vectors_are_detected(built: Settings, poison: str) -> None:
    folder = current_generation(built.index_path)
    assert folder is not None
    matrix = np.load(folder / "vectors.npy")
    bad = np.zeros_like(matrix) if poison == "zeros" else np.full_like(matrix, np.nan)
    np.save(folder / "vectors.npy", bad)
    with pytest.raises(IndexCorruptError, match=r"run `playbook ingest --rebuild`") as info:
        ask(QUESTION, built)
    assert "vectors.npy" in str(info.value.__cause__)
    article = built.content_path / "code-reviews.md"
    article.write_text(article.read_text() + "\nReview within a day.\n")
    with pytest.raises(IndexCorruptError, match="--rebuild"):  # never copied into a new one
        run(built)
    report = run(built, rebuild=True)
    assert report.chunks and ask(QUESTION, built).citations


# --- feedback limits ---------------------------------------------------------------------------

def test_feedback_comment_is_capped(tmp_path: Path) -> None:
    from test_feedback import answer_json

    from rag.feedback import FeedbackError

    store = FeedbackStore(tmp_path, max_comment_chars=2000)
    store.record("a", answer_json(), comment="x" * 2000)
    with pytest.raises(FeedbackError, match=r"2,000 characters \(this one has 10,000,000\)"):
        store.record("a", answer_json(), comment="y" * 10_000_000)
    with pytest.raises(FeedbackError, match="citation numbers"):
        store.record("a", answer_json(), wrong=list(range(1, 5000)))
    assert [r["comment"] for r in store.rows()] == ["x" * 2000]


def test_rate_limit_counts_per_client_in_a_sliding_minute() -> None:
    from ui.guard import RateLimit

    now = [0.0]
    limit = RateLimit(3, clock=lambda: now[0])
    assert [limit.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limit.allow("b")
    now[0] = 59.9
    assert not limit.allow("a")
    now[0] = 60.0
    assert limit.allow("a")


def test_login_delay_doubles_and_is_capped() -> None:
    from ui.guard import LoginThrottle

    throttle = LoginThrottle(app=None, max_delay=8.0)
    assert [throttle.delay(n) for n in range(7)] == [0, 0.25, 0.5, 1, 2, 4, 8]
    assert throttle.delay(500) == 8.0


# --- a frozen Chroma server -------------------------------------------------------------------

@pytest.mark.server
@pytest.mark.slow
def test_frozen_chroma_server_gives_one_sentence_within_the_timeout(
    tmp_path: Path, content: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    chroma = Path(sys.executable).parent / "chroma"
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(tmp_path / "db"), "--host", "127.0.0.1",
         "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    env = clean_env(PLAYBOOK_CHROMA_URL=url, PLAYBOOK_CHROMA_PREFIX="frozen",
                    PLAYBOOK_CHROMA_TIMEOUT="3")
    where = ["--content", str(content), "--index", str(tmp_path / "index")]
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        settings = Settings(content_dir=content, index_dir=tmp_path / "index", chroma_url=url,
                            chroma_prefix="frozen", chroma_timeout=3)
        assert run(settings).added == 3  # in this process: the commands below are what is tested
        os.kill(proc.pid, signal.SIGSTOP)
        for command in (["ask", QUESTION], ["ingest"]):
            started = time.monotonic()
            done = playbook(*command, *where, env=env, timeout=120)
            seconds = time.monotonic() - started
            assert done.returncode == 1, done.stdout
            line = _one_sentence(done.stderr)
            assert f"{url} did not answer within 3 s" in line and "PLAYBOOK_CHROMA_TIMEOUT" in line
            assert seconds < 60, seconds  # start-up (imports, model) plus one 3 s timeout
        # The page: the chat handler shows the same sentence instead of waiting forever.
        from ui import chat

        started = time.monotonic()
        *_, (_, messages, records) = chat.respond(QUESTION, [], [], settings, None, None)
        assert time.monotonic() - started < 30
        assert records == [None] and "did not answer within 3 s" in messages[-1]["content"]
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        stop_process(proc)
