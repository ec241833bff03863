"""The REST API (/api) and the MCP endpoint (/mcp) on the chat page's own server.

`server_app_kwargs(settings, host)` returns what `playbook serve` hands to Gradio's `launch(
app_kwargs=...)`: the routes (mounted first, before Gradio's) and a lifespan for the MCP session
manager, so one uvicorn serves the page, the API and MCP. Only presentation: every route calls
`rag.service` (answer, search, article, health). Errors are `{"error": "<one sentence>"}` with
400 (bad input), 401 (no or wrong credentials), 404 (unknown article or route), 413 (body too
large), 503 (no index, backend missing or down), 500 (a bug).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

import anyio
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.routing import Mount, Route

from rag import service
from rag.errors import PlaybookError, QuestionError
from rag.schema import AnswerModel, ArticleModel, ErrorModel, HealthModel, SearchModel
from rag.settings import AnswererName, Settings
from ui.apiauth import Guard

log = logging.getLogger("playbook.api")
T = TypeVar("T")
CONCURRENCY = 8  # answers computed at once, as for the Gradio `ask` endpoint
DESCRIPTION = (
    "Verified answers from the team playbook. `POST /api/ask` returns the `playbook ask --json` "
    "object: every sentence cites [n] passages, checked against them; `refused` says the "
    "playbook does not cover the question. With PLAYBOOK_AUTH or PLAYBOOK_API_TOKEN set, send "
    "HTTP Basic (the page's login) or `Authorization: Bearer <PLAYBOOK_API_TOKEN>`."
)


class AskRequest(BaseModel):
    """A question, optionally with the conversation so far."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(description="The question, in plain words (at most 2000 characters).")
    history: list[tuple[str, str]] = Field(
        default_factory=list, max_length=100,
        description="Earlier turns as [question, answer] pairs, oldest first (for follow-ups).",
    )
    k: int | None = Field(None, ge=1, le=50, description="Passages to retrieve (default 5).")
    llm: AnswererName | None = Field(None, description="Answerer (default: the server's).")


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorModel, "description": text}
    for code, text in [(400, "Bad input"), (401, "Credentials missing or wrong"),
                       (503, "No index, or a backend is missing or down")]
}


def status_of(exc: PlaybookError) -> int:
    """The HTTP status for a failure of the core API."""
    if isinstance(exc, QuestionError):
        return 400
    if isinstance(exc, service.ArticleNotFoundError):
        return 404
    return 503  # index missing or damaged, answerer package missing, LLM or Chroma down


def error(status: int, message: str, **headers: str) -> JSONResponse:
    """The one error shape of the API."""
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


class Runner(Protocol):
    """Runs blocking work off the event loop (see build_api)."""

    def __call__(self, fn: Callable[[], T]) -> Awaitable[T]: ...


def build_api(settings: Settings) -> FastAPI:
    """The FastAPI app served under /api (docs at /api/docs, schema at /api/openapi.json)."""
    api = FastAPI(title="Playbook Q&A", version="1", description=DESCRIPTION,
                  docs_url="/docs", redoc_url=None, openapi_url="/openapi.json",
                  root_path_in_servers=False)
    state: dict[str, anyio.CapacityLimiter] = {}

    async def run(fn: Callable[[], T]) -> T:
        """Blocking rag work in a worker thread, at most CONCURRENCY at once."""
        if "limiter" not in state:  # created inside the running event loop
            state["limiter"] = anyio.CapacityLimiter(CONCURRENCY)
        return await anyio.to_thread.run_sync(fn, limiter=state["limiter"])

    _answer_routes(api, settings, run)
    _lookup_routes(api, settings, run)
    _error_handlers(api)
    _full_paths(api)
    return api


def _answer_routes(api: FastAPI, settings: Settings, run: Runner) -> None:
    def run_settings(k: int | None, llm: str | None) -> Settings:
        update = {key: v for key, v in (("top_k", k), ("llm", llm)) if v is not None}
        return settings.model_copy(update=update) if update else settings

    @api.post("/ask", response_model=AnswerModel, responses=ERRORS, summary="Answer a question")
    async def ask(body: AskRequest) -> Response:
        """The verified answer, exactly as `playbook ask --json` prints it."""
        run_with = run_settings(body.k, body.llm)
        model = await run(lambda: service.answer(body.question, run_with, body.history))
        return Response(model.dumps(), media_type="application/json")

    @api.post("/ask/stream", responses={
        **ERRORS, 200: {"description": "Server-sent events: `token` events ({\"text\"}) as the "
                        "answer is produced, then one `answer` event (the checked answer JSON) "
                        "or one `error` event ({\"error\", \"status\"}).",
                        "content": {"text/event-stream": {}}}}, summary="Answer, streamed")
    async def ask_stream(body: AskRequest) -> StreamingResponse:
        """Tokens as they are produced (for a model: the unverified draft), then the answer."""
        run_with = run_settings(body.k, body.llm)
        service.checked_question(body.question, run_with)
        await run(lambda: service.health(run_with))  # no index: a 503, not a broken stream
        return StreamingResponse(
            _events(lambda on_token: service.answer(
                body.question, run_with, body.history, on_token=on_token), run),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )


def _lookup_routes(api: FastAPI, settings: Settings, run: Runner) -> None:
    @api.get("/search", response_model=SearchModel, responses=ERRORS, summary="Passages only")
    async def search(q: str = Query(description="The query."),
                     k: int = Query(5, ge=1, le=50, description="Passages.")) -> SearchModel:
        """The k best passages for a query: retrieval only, no answer and no verification."""
        return await run(lambda: service.search(q, settings, k))

    @api.get("/articles/{article_id:path}", response_model=ArticleModel, summary="An article",
             responses={**ERRORS, 404: {"model": ErrorModel, "description": "Unknown article"}})
    async def article(article_id: str) -> ArticleModel:
        """An article as indexed (a citation's `article_id`): headings and section texts."""
        return await run(lambda: service.article(article_id, settings))

    @api.get("/health", response_model=HealthModel, responses=ERRORS, summary="Index state")
    async def health() -> HealthModel:
        """The live index generation, its articles and chunks, and the answerers on offer."""
        return await run(lambda: service.health(settings))


def _full_paths(api: FastAPI) -> None:
    """The schema lists the paths clients call (/api/ask, not the mount-relative /ask) and the
    statuses they get (FastAPI's default 422 for bad input is a 400 with one sentence here)."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            schema = get_openapi(title=api.title, version=api.version,
                                 description=api.description, routes=api.routes)
            schema["paths"] = {f"/api{path}": item for path, item in schema["paths"].items()}
            for item in schema["paths"].values():  # bad input is a 400 here (see bad_request)
                for operation in item.values():
                    operation["responses"].pop("422", None)
            for name in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(name, None)
            api.openapi_schema = schema
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]


def _error_handlers(api: FastAPI) -> None:
    @api.exception_handler(PlaybookError)
    async def playbook_error(request: Request, exc: PlaybookError) -> JSONResponse:
        return error(status_of(exc), str(exc))

    @api.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error(400, _first_problem(exc.errors()))

    @api.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return error(404, f"There is no API route {request.url.path}: see /api/docs.")
        return error(exc.status_code, str(exc.detail).rstrip(".") + ".")

    @api.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("API request failed")
        return error(500, f"Something went wrong on the server ({type(exc).__name__}).")


def _first_problem(errors: Any) -> str:
    """One sentence from pydantic's list of validation errors."""
    if not errors:
        return "The request is not valid."
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
    message = str(first.get("msg", "is not valid")).rstrip(".")
    if first.get("type") == "json_invalid":
        return "The body is not valid JSON."
    if first.get("type") == "missing" and not where:
        return "The body must be a JSON object such as {\"question\": \"...\"}."
    return f"{where or 'The request'}: {message}." if where else f"The request: {message}."


def _sse(event: str, data: str) -> bytes:
    return f"event: {event}\ndata: {data}\n\n".encode()


async def _events(
    produce: Callable[[Callable[[str], None]], AnswerModel], run: Runner,
) -> AsyncIterator[bytes]:
    """Token events from a worker thread as they arrive, then the `answer` (or `error`) event."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()

    def put(kind: str, data: str) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, (kind, data))

    def work() -> None:
        try:
            model = produce(lambda text: put("token", json.dumps({"text": text})))
            put("answer", model.dumps())
        except PlaybookError as exc:
            put("error", json.dumps({"error": str(exc), "status": status_of(exc)}))
        except Exception as exc:  # the stream must end with a sentence, never hang
            log.exception("streamed answer failed")
            put("error", json.dumps({"error": f"Something went wrong ({type(exc).__name__}).",
                                     "status": 500}))

    worker = asyncio.ensure_future(run(work))
    while True:
        kind, data = await queue.get()
        yield _sse(kind, data)
        if kind != "token":
            break
    await worker


def server_app_kwargs(settings: Settings, host: str) -> dict[str, Any]:
    """Gradio `launch(app_kwargs=...)` adding /api and /mcp (both behind the same login)."""
    guard = Guard.from_settings(settings)
    routes: list[Any] = [Mount("/api", app=guard.wrap(build_api(settings)))]
    try:
        from rag.mcp_server import build_server
    except PlaybookError as exc:  # the optional `mcp` package is missing: serve the rest
        print(f"MCP over HTTP is off: {exc}", flush=True)
        return {"routes": routes}
    mcp = build_server(settings, host=host)
    mcp_app = mcp.streamable_http_app()  # creates the session manager
    endpoint = next(r.endpoint for r in mcp_app.routes if isinstance(r, Route))
    routes.append(Route("/mcp", endpoint=guard.wrap(endpoint), methods=["GET", "POST", "DELETE"]))

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        async with mcp.session_manager.run():  # the MCP sessions' task group
            yield

    return {"routes": routes, "lifespan": lifespan}
