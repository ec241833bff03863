"""The `openai` answerer against a real OpenAI-compatible server (llama_cpp.server + SmolLM2)
started on 127.0.0.1 by the test and killed by pid, including in the middle of an answer."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest
from answers_common import ROOT, build_index

from rag.api import ask

pytestmark = [pytest.mark.llm, pytest.mark.slow]
QUESTION = "How do I approach a tribal team?"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen[bytes], seconds: float = 180.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not come up in {seconds} s")


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    pytest.importorskip("llama_cpp.server")
    from rag.llm_local import bundled_model_path

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_model_path()),
         "--model_alias", "smollm2", "--host", "127.0.0.1", "--port", str(port),
         "--n_threads", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_up(url, proc)
    except BaseException:
        proc.kill()
        proc.wait(timeout=30)
        raise
    return proc, url


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def trust(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    return build_index(tmp_path_factory.mktemp("trust"), ROOT / "content", llm="openai",
                       openai_model="smollm2", llm_max_tokens=48, llm_timeout=60.0,
                       llm_first_token_timeout=60.0)  # streaming is tested here, not the budget


@pytest.fixture
def server() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    proc, url = start_server()
    yield proc, url
    stop(proc)


def test_openai_answer_streams_and_is_verified(trust, server) -> None:  # noqa: ANN001
    _, url = server
    tokens: list[str] = []
    answer = ask(QUESTION, trust.model_copy(update={"openai_base_url": url}),
                 on_token=tokens.append)
    assert len(tokens) >= 3 and answer.answerer in ("openai", "openai>extractive")
    assert not answer.refused and answer.citations[0].article_id == "building-trust"
    kept = [s for s in answer.sentences if not s.dropped]
    assert kept and all(s.verified and s.citations for s in kept)
    if answer.answerer == "openai>extractive":
        assert "extractive" in answer.notice


def test_server_killed_mid_answer_gives_notice_and_extractive_answer(trust, server) -> None:  # noqa: ANN001
    proc, url = server
    killed: list[float] = []

    def kill_on_first_token(_: str) -> None:
        if not killed:
            os.kill(proc.pid, signal.SIGKILL)
            killed.append(time.monotonic())

    settings = trust.model_copy(update={"openai_base_url": url, "llm_timeout": 60.0})
    answer = ask(QUESTION, settings, on_token=kill_on_first_token)
    assert killed, f"the server never produced a token: {answer.notice}"
    assert time.monotonic() - killed[0] < 15  # the broken stream is noticed at once
    assert answer.answerer == "openai>extractive" and not answer.refused
    assert str(url) in answer.notice and "extractive" in answer.notice
    assert answer.sentences and all(s.verified for s in answer.sentences)


def test_server_down_gives_notice_quickly(trust) -> None:  # noqa: ANN001
    url = f"http://127.0.0.1:{free_port()}/v1"
    started = time.monotonic()
    answer = ask(QUESTION, trust.model_copy(update={"openai_base_url": url}))
    assert time.monotonic() - started < 10
    assert "cannot be reached" in answer.notice and answer.answerer == "openai>extractive"


def test_server_that_never_answers_times_out(trust) -> None:  # noqa: ANN001
    """A real socket that accepts and then says nothing (a hung server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    started = time.monotonic()
    try:
        answer = ask(QUESTION, trust.model_copy(update={"openai_base_url": url,
                                                        "llm_timeout": 1.5}))
    finally:
        for conn in accepted:
            conn.close()
        listener.close()
    assert time.monotonic() - started < 10
    assert "timed out" in answer.notice and answer.answerer == "openai>extractive"
