"""The MCP server through the `mcp` SDK's own client: `playbook mcp` over stdio (a real
subprocess) and the streamable HTTP transport at /mcp on a real `playbook serve`.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from uiserver import ROOT, clean_env, playbook

from rag.schema import AnswerModel, ArticleModel, SearchModel

pytestmark = pytest.mark.slow

QUESTION = "How do I approach a tribal team?"
TOOLS = {"ask_playbook", "search_playbook", "get_article"}

Session = Any
Check = Callable[[Session], Awaitable[None]]


def over_stdio(content: str, index: str, check: Check) -> None:
    """Run `check` on a session with `playbook mcp` started as a subprocess by the SDK."""
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(
        command=sys.executable, args=["-m", "ui.cli", "mcp", "--content", content,
                                      "--index", index],
        cwd=str(ROOT), env=clean_env(),
    )

    async def main() -> None:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            await check(session)

    asyncio.run(main())


def over_http(url: str, check: Check, headers: dict[str, str] | None = None) -> None:
    """Run `check` on a session with the /mcp endpoint of a running `playbook serve`."""
    import httpx
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def main() -> None:
        async with httpx.AsyncClient(headers=headers, timeout=300) as http, \
                streamable_http_client(url, http_client=http) as (read, write, _), \
                ClientSession(read, write) as session:
            await session.initialize()
            await check(session)

    asyncio.run(main())


async def contract(session: Session) -> None:
    """What every transport must offer: three described tools, verified answers, clear errors."""
    listed = await session.list_tools()
    tools = {tool.name: tool for tool in listed.tools}
    assert set(tools) == TOOLS
    assert all(tool.description and tool.outputSchema for tool in tools.values())
    assert tools["ask_playbook"].inputSchema["required"] == ["question"]
    assert tools["ask_playbook"].annotations.readOnlyHint is True

    result = await session.call_tool("ask_playbook", {"question": QUESTION})
    assert not result.isError
    answer = AnswerModel.model_validate(result.structuredContent)
    assert not answer.refused and answer.citations[0].article_id == "building-trust"
    assert all(s.verified for s in answer.sentences if not s.dropped)
    assert json.loads(result.content[0].text) == result.structuredContent

    off = await session.call_tool("ask_playbook", {"question": "What is the capital of France?"})
    assert AnswerModel.model_validate(off.structuredContent).refused

    found = await session.call_tool("search_playbook", {"query": "pull request size", "k": 2})
    passages = SearchModel.model_validate(found.structuredContent).passages
    assert 1 <= len(passages) <= 2 and passages[0].article_id == "code-reviews"

    article = await session.call_tool("get_article", {"id": "teams/onboarding"})
    assert ArticleModel.model_validate(article.structuredContent).source == "teams/onboarding.md"

    for name, args, says in [
        ("get_article", {"id": "nope"}, "There is no article with id 'nope' in the playbook."),
        ("ask_playbook", {"question": "  "}, "The question is empty"),
        ("search_playbook", {"query": "x", "k": 0}, "greater than or equal to 1"),
    ]:
        failed = await session.call_tool(name, args)
        assert failed.isError and says in failed.content[0].text, failed.content


def test_stdio_server(ui_server: Any) -> None:
    over_stdio(str(ui_server.content), str(ui_server.index), contract)


def test_stdio_answer_is_the_cli_json(ui_server: Any) -> None:
    cli = playbook("ask", QUESTION, "--json", "--content", str(ui_server.content),
                   "--index", str(ui_server.index))
    assert cli.returncode == 0, cli.stderr
    want = json.loads(cli.stdout)
    got: dict[str, Any] = {}

    async def ask(session: Session) -> None:
        result = await session.call_tool("ask_playbook", {"question": QUESTION})
        got.update(json.loads(result.content[0].text))

    over_stdio(str(ui_server.content), str(ui_server.index), ask)
    want.pop("timings_ms"), got.pop("timings_ms")
    assert got == want


def test_stdio_without_index_says_so(tmp_path: Any) -> None:
    async def ask(session: Session) -> None:
        result = await session.call_tool("ask_playbook", {"question": QUESTION})
        assert result.isError and "playbook ingest" in result.content[0].text

    over_stdio(str(tmp_path), str(tmp_path / "index"), ask)


def test_http_transport_on_serve(ui_server: Any) -> None:
    over_http(ui_server.url + "mcp", contract)
