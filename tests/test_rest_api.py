"""The REST API on a real `playbook serve` (started by the tests, stopped by pid), with httpx:
answers, streaming, search, articles, health, OpenAPI, bad input, authentication, 503 -> 200
when an index appears, and every door (CLI, REST, MCP, Gradio) sending the same answer bytes.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from uiserver import ROOT, clean_env, free_port, playbook, stop_process, wait_for

from rag.schema import AnswerModel

pytestmark = pytest.mark.slow

QUESTION = "How do I approach a tribal team?"
USER, PASSWORD, TOKEN = "alice", "s3cret-pass", "tok-9f2c61"


def one_sentence(response: httpx.Response) -> str:
    """The error of a JSON error response, checked to be one sentence and no traceback."""
    body = response.json()
    assert set(body) == {"error"}, body
    message = body["error"]
    assert message.endswith(".") and "\n" not in message and "Traceback" not in message
    return str(message)


def without_timings(text: str) -> str:
    """The answer JSON text with the timing values blanked (they differ run to run)."""
    blanked, count = re.subn(r'"timings_ms": \{[^{}]*\}', '"timings_ms": {}', text.strip())
    assert count == 1, text
    return blanked


@pytest.fixture(scope="module")
def api(ui_server: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ui_server.url, timeout=120) as client:
        yield client


def test_ask_answers_with_citations(api: httpx.Client) -> None:
    response = api.post("/api/ask", json={"question": QUESTION})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    answer = AnswerModel.model_validate_json(response.content)  # the shared schema, strictly
    assert not answer.refused and answer.citations
    assert answer.citations[0].article_id == "building-trust"
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)}
    assert cited and cited <= {c.n for c in answer.citations}


def test_every_door_sends_the_same_bytes(api: httpx.Client, ui_server: Any) -> None:
    """CLI `--json`, REST, MCP over HTTP and the Gradio endpoint: one schema, one serialisation."""
    from gradio_client import Client

    cli = playbook("ask", QUESTION, "--json", "--content", str(ui_server.content),
                   "--index", str(ui_server.index))
    assert cli.returncode == 0, cli.stderr
    rest = api.post("/api/ask", json={"question": QUESTION}).text
    gradio = Client(ui_server.url, verbose=False).predict(QUESTION, api_name="/ask")
    mcp_text = asyncio.run(mcp_http_ask(ui_server.url + "mcp", QUESTION))
    want = without_timings(cli.stdout)
    assert without_timings(rest) == want
    assert without_timings(mcp_text) == want
    assert without_timings(json.dumps(gradio, ensure_ascii=False)) == want


async def mcp_http_ask(url: str, question: str, headers: dict[str, str] | None = None) -> str:
    """ask_playbook through the MCP SDK's client over streamable HTTP; the text content."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with httpx.AsyncClient(headers=headers, timeout=300) as http, \
            streamable_http_client(url, http_client=http) as (read, write, _), \
            ClientSession(read, write) as session:
        await session.initialize()
        result = await session.call_tool("ask_playbook", {"question": question})
        assert not result.isError, result.content
        return str(result.content[0].text)  # type: ignore[union-attr]


def test_stream_sends_tokens_then_the_checked_answer(api: httpx.Client) -> None:
    events: list[tuple[str, str]] = []
    with api.stream("POST", "/api/ask/stream", json={"question": QUESTION, "k": 3}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        event = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                events.append((event, line[6:]))
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "answer" and set(kinds[:-1]) == {"token"} and len(kinds) >= 2
    tokens = "".join(json.loads(data)["text"] for _, data in events[:-1])
    final = AnswerModel.model_validate_json(events[-1][1])
    assert tokens.strip() == final.answer.strip()  # extractive: the draft is the answer
    plain = AnswerModel.model_validate_json(
        api.post("/api/ask", json={"question": QUESTION, "k": 3}).content)
    assert final.model_dump(exclude={"timings_ms"}) == plain.model_dump(exclude={"timings_ms"})


def test_follow_up_with_history(api: httpx.Client) -> None:
    first = api.post("/api/ask", json={"question": QUESTION}).json()
    follow = api.post("/api/ask", json={
        "question": "and if they still don't open up?",
        "history": [[QUESTION, first["answer"]]],
    })
    assert follow.status_code == 200
    body = follow.json()
    assert body["query"] != body["question"]  # rewritten into a standalone query


@pytest.mark.parametrize(("body", "fragment"), [
    ({"question": "   "}, "question is empty"),
    ({"question": "x" * 5000}, "limit is 2000"),
    ({"question": QUESTION, "k": 0}, "k: Input should be greater than or equal to 1"),
    ({"question": QUESTION, "llm": "gpt-17"}, "llm: Input should be"),
    ({"question": QUESTION, "history": [["only one"]]}, "history.0"),
    ({"question": QUESTION, "colour": "red"}, "colour: Extra inputs are not permitted"),
    ({}, "question: Field required"),
    ([], "The request"),
])
def test_bad_input_is_a_400_with_one_sentence(
    api: httpx.Client, body: Any, fragment: str
) -> None:
    for path in ("/api/ask", "/api/ask/stream"):
        response = api.post(path, json=body)
        assert response.status_code == 400, (path, response.text)
        assert fragment in one_sentence(response)


def test_malformed_and_huge_bodies(api: httpx.Client) -> None:
    bad = api.post("/api/ask", content=b"{not json", headers={"content-type": "application/json"})
    assert bad.status_code == 400 and "not valid JSON" in one_sentence(bad)
    huge = api.post("/api/ask", json={"question": QUESTION, "history": [["q", "a" * (2 << 20)]]})
    assert huge.status_code == 413 and "over 1024 KB" in one_sentence(huge)


def test_search_returns_passages_only(api: httpx.Client) -> None:
    response = api.get("/api/search", params={"q": "pull request size", "k": 2})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"query", "passages"} and 1 <= len(body["passages"]) <= 2
    top = body["passages"][0]
    assert top["rank"] == 1 and top["article_id"] == "code-reviews"
    assert top["url"].startswith("code-reviews.md#") and top["text"]
    missing = api.get("/api/search")
    assert missing.status_code == 400 and "q: Field required" in one_sentence(missing)
    assert api.get("/api/search", params={"q": "x", "k": 99}).status_code == 400


def test_articles_by_id_with_headings(api: httpx.Client) -> None:
    body = api.get("/api/articles/code-reviews").json()
    assert body["title"] == "Code Reviews That Help" and body["source"] == "code-reviews.md"
    assert {"level": 2, "text": "Before you open a pull request",
            "anchor": "before-you-open-a-pull-request"} in body["headings"]
    section = next(s for s in body["sections"] if s["anchor"] == "before-you-open-a-pull-request")
    assert "400 lines" in section["text"] and section["level"] == 2
    assert body["metadata"]["tags"]
    nested = api.get("/api/articles/teams/onboarding")  # an id with a slash (no front matter)
    assert nested.status_code == 200 and nested.json()["source"] == "teams/onboarding.md"
    unknown = api.get("/api/articles/no-such-article")
    assert unknown.status_code == 404
    assert one_sentence(unknown) == "There is no article with id 'no-such-article' in the playbook."
    route = api.get("/api/nothing-here")
    assert route.status_code == 404 and "/api/docs" in one_sentence(route)


def test_health(api: httpx.Client, ui_server: Any) -> None:
    body = api.get("/api/health").json()
    assert body["status"] == "ok" and body["articles"] == 4 and body["chunks"] > 4
    assert body["answerer"] == "extractive" and "extractive" in body["answerers"]
    assert (ui_server.index / body["generation"]).is_dir() or body["generation"]


def test_openapi_and_docs(api: httpx.Client) -> None:
    schema = api.get("/api/openapi.json").json()
    assert set(schema["paths"]) == {"/api/ask", "/api/ask/stream", "/api/search",
                                    "/api/articles/{article_id}", "/api/health"}
    assert "servers" not in schema  # paths are the ones clients call, from the server's root
    assert "AnswerModel" in schema["components"]["schemas"]
    ask = schema["paths"]["/api/ask"]["post"]["responses"]
    assert {"200", "400", "401", "503"} <= set(ask) and "422" not in ask
    assert ask["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/AnswerModel")
    docs = api.get("/api/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert api.get("/").status_code == 200  # the chat page is still there


@pytest.fixture(scope="module")
def guarded(ui_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A second server with PLAYBOOK_AUTH and PLAYBOOK_API_TOKEN set, on an index not built yet."""
    base = tmp_path_factory.mktemp("guarded")
    index, log, port = base / "index", base / "serve.log", free_port()
    env = clean_env(PLAYBOOK_AUTH=f"{USER}:{PASSWORD}", PLAYBOOK_API_TOKEN=TOKEN)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ui.cli", "serve", "--content", str(ui_server.content),
             "--index", str(index), "--port", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for(url, proc, log)
        yield {"url": url, "index": index, "content": ui_server.content}
    finally:
        stop_process(proc)


def test_auth_503_then_answers_once_an_index_exists(guarded: dict[str, Any]) -> None:
    with httpx.Client(base_url=guarded["url"], timeout=120) as client:
        for path in ("/api/health", "/api/docs", "/api/openapi.json"):
            refused = client.get(path)
            assert refused.status_code == 401 and "credentials" in one_sentence(refused)
            assert refused.headers["www-authenticate"].startswith("Basic")
        assert client.post("/mcp", json={}).status_code == 401
        assert client.get("/api/health", auth=(USER, "wrong")).status_code == 401
        assert client.get("/api/health", headers={"Authorization": "Bearer nope"}).status_code \
            == 401
        missing = client.post("/api/ask", json={"question": QUESTION}, auth=(USER, PASSWORD))
        assert missing.status_code == 503 and "playbook ingest" in one_sentence(missing)
        done = playbook("ingest", "--content", str(guarded["content"]),
                        "--index", str(guarded["index"]), "--json")
        assert done.returncode == 0, done.stderr
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        answered = client.post("/api/ask", json={"question": QUESTION}, headers=bearer)
        assert answered.status_code == 200 and answered.json()["citations"]
        assert client.get("/api/health", auth=(USER, PASSWORD)).json()["status"] == "ok"
    text = asyncio.run(mcp_http_ask(guarded["url"] + "mcp", QUESTION, bearer))
    assert json.loads(text)["citations"]


def test_page_login_is_unchanged(guarded: dict[str, Any]) -> None:
    """Gradio's own login still guards the page's API; ours does not replace it."""
    with httpx.Client(base_url=guarded["url"], timeout=60) as client:
        assert client.get("/gradio_api/info").status_code == 401
        # ... and HTTP Basic for the API is not a way around the page's login form.
        assert client.get("/gradio_api/info", auth=(USER, PASSWORD)).status_code == 401
