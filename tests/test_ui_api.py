"""The Gradio API (`ask` via gradio_client) and serving safety (loopback, PLAYBOOK_AUTH)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from uiserver import clean_env, free_port, playbook

from rag.errors import PlaybookError
from rag.settings import Settings

QUESTION = "How do I approach a tribal team?"
STABLE = ("question", "answer", "refused", "answerer", "citations", "query", "sentences", "notice")


@pytest.mark.slow
def test_ask_endpoint_returns_the_cli_json(ui_server: Any) -> None:
    from gradio_client import Client

    client = Client(ui_server.url, verbose=False)
    got = client.predict(QUESTION, api_name="/ask")
    cli = playbook("ask", QUESTION, "--json", "--content", str(ui_server.content),
                   "--index", str(ui_server.index))
    assert cli.returncode == 0, cli.stderr
    want = json.loads(cli.stdout)
    assert set(got) == set(want)
    assert {k: got[k] for k in STABLE} == {k: want[k] for k in STABLE}
    assert set(got["timings_ms"]) == {"retrieve", "generate", "total"}
    assert got["citations"][0]["title"] == "Building Trust"


@pytest.mark.slow
def test_ask_endpoint_takes_k_and_reports_bad_input(ui_server: Any) -> None:
    from gradio_client import Client

    client = Client(ui_server.url, verbose=False)
    assert len(client.predict(QUESTION, 2, api_name="/ask")["citations"]) <= 2
    with pytest.raises(Exception, match="question is empty"):
        client.predict("   ", api_name="/ask")
    with pytest.raises(Exception, match="Unknown answerer"):
        client.predict(QUESTION, 0, "gpt-17", api_name="/ask")


def test_public_host_without_auth_refuses_to_start(tmp_path: Path) -> None:
    done = playbook("serve", "--host", "0.0.0.0", "--port", str(free_port()),
                    "--index", str(tmp_path), timeout=120)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "PLAYBOOK_AUTH=user:password" in lines[0]
    assert "Traceback" not in done.stderr


def test_malformed_auth_is_a_user_error(tmp_path: Path) -> None:
    done = playbook("serve", "--host", "0.0.0.0", "--index", str(tmp_path),
                    env=clean_env(PLAYBOOK_AUTH="nopassword"), timeout=120)
    assert done.returncode == 1 and "user:password" in done.stderr


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("localhost", True), ("::1", True), ("127.0.0.2", True),
    ("0.0.0.0", False), ("192.168.1.4", False), ("::", False), ("example.org", False),
])
def test_loopback_hosts(host: str, loopback: bool) -> None:
    from ui.app import is_loopback

    assert is_loopback(host) is loopback


def test_auth_protects_page_and_api(tmp_path: Path) -> None:
    from gradio_client import Client

    from ui.app import serve

    settings = Settings(content_dir=tmp_path, index_dir=tmp_path / "index",
                        auth="alice:s3cret")  # type: ignore[arg-type]
    port = free_port()
    demo = serve(settings, "127.0.0.1", port, block=False)
    try:
        url = f"http://127.0.0.1:{port}/"
        with pytest.raises(Exception):  # noqa: B017 - gradio_client raises several types
            Client(url, verbose=False).predict(QUESTION, api_name="/ask")
        client = Client(url, auth=("alice", "s3cret"), verbose=False)
        with pytest.raises(Exception, match="No index found"):
            client.predict(QUESTION, api_name="/ask")
    finally:
        demo.close()


def test_bad_auth_setting_raises(tmp_path: Path) -> None:
    from ui.app import parse_auth

    with pytest.raises(PlaybookError, match="user:password"):
        parse_auth(Settings(auth=":x"))  # type: ignore[arg-type]
    assert parse_auth(Settings(auth="u:p:q")) == ("u", "p:q")  # type: ignore[arg-type]
    assert parse_auth(Settings()) is None


@pytest.mark.slow
def test_only_ask_is_in_the_api(ui_server: Any) -> None:
    from gradio_client import Client

    info = Client(ui_server.url, verbose=False).view_api(print_info=False, return_format="dict")
    assert list(info["named_endpoints"]) == ["/ask"]
    assert info["unnamed_endpoints"] == {}


def test_port_in_use_is_one_sentence(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = playbook("serve", "--port", str(port), "--index", str(tmp_path), timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"127.0.0.1:{port}" in done.stderr and "--port" in done.stderr
