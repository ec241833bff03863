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


@pytest.mark.slow
def test_public_host_without_auth_refuses_to_start(tmp_path: Path) -> None:
    done = playbook("serve", "--host", "0.0.0.0", "--port", str(free_port()),
                    "--index", str(tmp_path), timeout=120)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "PLAYBOOK_AUTH=user:password" in lines[0]
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_malformed_auth_is_a_user_error(tmp_path: Path) -> None:
    done = playbook("serve", "--host", "0.0.0.0", "--index", str(tmp_path),
                    env=clean_env(PLAYBOOK_AUTH="nopassword"), timeout=120)
    assert done.returncode == 1 and "user:password" in done.stderr


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("localhost", True), ("::1", True), ("127.0.0.2", True),
    ("0.0.0.0", False), ("192.168.1.4", False), ("::", False), ("example.org", False),
])
def test_loopback_hosts(host: str, loopback: bool) -> None:
    from ui.listen import is_loopback

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
    from ui.listen import parse_auth

    with pytest.raises(PlaybookError, match="user:password"):
        parse_auth(Settings(auth=":x"))  # type: ignore[arg-type]
    assert parse_auth(Settings(auth="u:p:q")) == ("u", "p:q")  # type: ignore[arg-type]
    assert parse_auth(Settings()) is None


def test_api_guard_refuses_a_malformed_login_instead_of_accepting_an_empty_password() -> None:
    from ui.apiauth import Guard

    with pytest.raises(PlaybookError, match="user:password"):
        Guard.from_settings(Settings(auth="alice:"))  # type: ignore[arg-type]
    guard = Guard.from_settings(Settings(auth="alice:s3cret"))  # type: ignore[arg-type]
    assert guard.basic == ("alice", "s3cret") and not guard.open


@pytest.mark.slow
def test_only_ask_is_in_the_api(ui_server: Any) -> None:
    from gradio_client import Client

    info = Client(ui_server.url, verbose=False).view_api(print_info=False, return_format="dict")
    assert list(info["named_endpoints"]) == ["/ask"]
    assert info["unnamed_endpoints"] == {}


@pytest.mark.slow
def test_port_in_use_is_one_sentence(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = playbook("serve", "--port", str(port), "--index", str(tmp_path), timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"127.0.0.1:{port}" in done.stderr and "--port" in done.stderr


# --- issue 14: the page's limits ---------------------------------------------------------------

NOT_PAGE = "only works from the chat page"
FAKE_INPUT = {"textbox": QUESTION, "chatbot": [], "state": None, "radio": "extractive",
              "slider": 3, "checkboxgroup": [], "markdown": "", "html": ""}


def _page_config(url: str) -> dict[str, Any]:
    import urllib.request

    with urllib.request.urlopen(url + "config", timeout=30) as response:
        return dict(json.loads(response.read()))


def _raw_call(url: str, fn_index: int, data: list[Any], session: str) -> dict[str, Any]:
    """What a script can do without the page: join the queue for a handler by its index."""
    import urllib.request

    body = json.dumps({"data": data, "fn_index": fn_index, "session_hash": session,
                       "event_data": None, "trigger_id": None}).encode()
    join = urllib.request.Request(url + "gradio_api/queue/join", data=body,
                                  headers={"Content-Type": "application/json"})
    urllib.request.urlopen(join, timeout=30).read()
    stream_url = url + f"gradio_api/queue/data?session_hash={session}"
    with urllib.request.urlopen(stream_url, timeout=300) as stream:
        for raw in stream:
            line = raw.decode("utf-8", "replace").strip()
            if line.startswith("data:"):
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    return dict(message)
    raise AssertionError("the queue stream ended without a result")


@pytest.mark.slow
@pytest.mark.parametrize(("elem_id", "event"), [
    ("pb-question", "submit"), ("pb-send-feedback", "click"), ("pb-reingest", "click"),
])
def test_hidden_handlers_refuse_raw_queue_calls(ui_server: Any, elem_id: str, event: str) -> None:
    config = _page_config(ui_server.url)
    types = {c["id"]: c["type"] for c in config["components"]}
    target = next(c["id"] for c in config["components"]
                  if c.get("props", {}).get("elem_id") == elem_id)
    dep = next(d for d in config["dependencies"] if [target, event] in d["targets"])
    data = [FAKE_INPUT.get(types[i]) for i in dep["inputs"]]
    result = _raw_call(ui_server.url, dep["id"], data, session=f"script-{elem_id}")
    assert result["success"] is False, result
    assert NOT_PAGE in json.dumps(result["output"]), result


@pytest.mark.slow
def test_lone_surrogate_in_history_is_answered(ui_server: Any) -> None:
    """JSON may carry "\\ud800" (gradio_client cannot even encode it; a script can)."""
    config = _page_config(ui_server.url)
    dep = next(d for d in config["dependencies"] if d.get("api_name") == "ask")
    history = [["How do I build trust \ud800 with a tribal team?", "Assume positive intent."]]
    follow_up = "And why does that matter?"  # rewritten with the history's question
    result = _raw_call(ui_server.url, dep["id"], [follow_up, 0, "", history], "surrogate")
    assert result["success"] is True, result  # before: success false, error null
    answer = result["output"]["data"][0]
    assert answer["question"] == follow_up and "\ufffd" in answer["query"]


@pytest.mark.slow
def test_failed_logins_slow_down_and_success_resets(tmp_path: Path) -> None:
    import time
    import urllib.error
    import urllib.parse
    import urllib.request

    from ui.app import serve

    settings = Settings(content_dir=tmp_path, index_dir=tmp_path / "index",
                        auth="alice:s3cret", login_delay_max=2.0)  # type: ignore[arg-type]
    port = free_port()
    demo = serve(settings, "127.0.0.1", port, block=False)

    def login(password: str) -> tuple[int, float]:
        form = urllib.parse.urlencode({"username": "alice", "password": password}).encode()
        started = time.monotonic()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", form, timeout=30) as r:
                status = r.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        return status, time.monotonic() - started

    try:
        tries = [login("guess") for _ in range(6)]
        assert all(status != 200 for status, _ in tries)
        waits = [seconds for _, seconds in tries]
        # 0, 0.25, 0.5, 1, 2, 2 (capped): today 200 wrong logins take 10 s in all
        assert sum(waits) >= 5.0 and waits[-1] >= 1.9 and waits[-1] < 4, waits
        status, seconds = login("s3cret")
        assert status == 200 and seconds >= 1.9
        assert login("s3cret")[1] < 1.0  # a success clears the count
    finally:
        demo.close()
