"""The MCP server: the playbook as tools for desktop and IDE assistants.

Tools: `ask_playbook(question)` -> the verified answer (the `playbook ask --json` object, as
structured content and, byte for byte, as text), `search_playbook(query, k)` -> passages,
`get_article(id)` -> an article as indexed. Served over stdio by `playbook mcp` and over
streamable HTTP at /mcp by `playbook serve` (see ui/rest.py). Built on the `mcp` SDK's FastMCP
(mcp 1.x: the line Gradio's own MCP extra pins, and the same httpx as Gradio).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from io import TextIOWrapper
from typing import Annotated, Any, TypeVar

import anyio
from pydantic import Field

from rag import service
from rag.errors import PlaybookError, missing_package

try:
    from mcp.server.fastmcp import FastMCP
    from mcp.server.fastmcp.exceptions import ToolError
    from mcp.server.transport_security import TransportSecuritySettings
    from mcp.types import CallToolResult, TextContent, ToolAnnotations
except ImportError as exc:  # an optional extra: say which, in one sentence
    raise missing_package("mcp", "mcp", "The MCP server") from exc
from rag.schema import AnswerModel, ArticleModel, SearchModel
from rag.settings import Settings

T = TypeVar("T")

INSTRUCTIONS = (
    "Answers questions from the team playbook. Prefer ask_playbook: its answer cites [n] "
    "passages, every cited sentence was verified against its passage, and `refused` is true "
    "when the playbook does not cover the question (say so instead of answering from memory). "
    "search_playbook returns raw passages; get_article returns a whole article by id."
)
READ_ONLY = ToolAnnotations(readOnlyHint=True, openWorldHint=False, idempotentHint=True)


async def _call(fn: Callable[[], T], limiter: anyio.CapacityLimiter | None) -> T:
    """Run blocking rag work off the event loop; PlaybookErrors become one-sentence tool errors."""
    try:
        return await anyio.to_thread.run_sync(fn, limiter=limiter)
    except PlaybookError as exc:
        raise ToolError(str(exc)) from exc


def build_server(
    settings: Settings, *, host: str = "127.0.0.1", concurrency: int = 8
) -> FastMCP:
    """The FastMCP server with the three playbook tools (stateless JSON over HTTP, or stdio).

    `host` is where `playbook serve` listens: on loopback, requests must name a loopback Host
    (the SDK's DNS-rebinding guard); elsewhere the server's login protects /mcp instead.
    """
    guard = None
    # The SDK turns its DNS-rebinding guard on for exactly these three hosts (FastMCP.__init__),
    # not for every loopback address (ui.listen.is_loopback): elsewhere say "off" explicitly.
    if host not in ("127.0.0.1", "localhost", "::1"):
        guard = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    mcp = FastMCP(
        "playbook", instructions=INSTRUCTIONS, host=host, stateless_http=True,
        json_response=True, streamable_http_path="/mcp", transport_security=guard,
        log_level="WARNING",
    )
    state: dict[str, Any] = {}

    def limiter() -> anyio.CapacityLimiter:  # created inside the running event loop
        if "limiter" not in state:
            state["limiter"] = anyio.CapacityLimiter(concurrency)
        return state["limiter"]  # type: ignore[no-any-return]

    @mcp.tool(name="ask_playbook", annotations=READ_ONLY)
    async def ask_playbook(
        question: Annotated[str, Field(description="The question, in plain words.")],
    ) -> Annotated[CallToolResult, AnswerModel]:
        """Answer a question from the team playbook. Every sentence of `answer` ends with [n]
        citations to `citations[n]`; `sentences` says which were verified; `refused` is true
        when the playbook does not cover the question."""
        model = await _call(lambda: service.answer(question, settings), limiter())
        return CallToolResult(
            content=[TextContent(type="text", text=model.dumps())],
            structuredContent=model.model_dump(mode="json"),
        )

    @mcp.tool(name="search_playbook", annotations=READ_ONLY)
    async def search_playbook(
        query: Annotated[str, Field(description="What to look for.")],
        k: Annotated[int, Field(ge=1, le=50, description="Passages to return.")] = 5,
    ) -> SearchModel:
        """Search the playbook: the k best passages for a query (no answer, nothing verified)."""
        return await _call(lambda: service.search(query, settings, k), limiter())

    @mcp.tool(name="get_article", annotations=READ_ONLY)
    async def get_article(
        id: Annotated[str, Field(description="An article id, e.g. a citation's article_id.")],
    ) -> ArticleModel:
        """A whole playbook article by id: title, source, headings and the text of each section."""
        return await _call(lambda: service.article(id, settings), limiter())

    return mcp


def run_stdio(settings: Settings) -> None:
    """Serve MCP on stdin/stdout until the client closes it.

    The protocol owns file descriptor 1: anything else written there (a library printing, a C
    library logging) would corrupt it, so fd 1 is pointed at stderr and the protocol writes to a
    private duplicate of the original stdout.
    """
    protocol = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = TextIOWrapper(os.fdopen(protocol, "wb"), encoding="utf-8", write_through=True)
    build_server(settings).run("stdio")
