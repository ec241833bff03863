"""chromadb's HTTP client with connect and read timeouts, and network failures as one sentence.

chromadb 1.5 builds its httpx session with `timeout=None` and offers no setting for it (its
HttpClient accepts no other API class either), so a Chroma server that accepts connections but
never answers (stopped with SIGSTOP, swapping, stuck on a lock) hangs every question forever,
starting in the client's constructor, which already asks the server who the user is.
`timed_client` therefore builds the client while chromadb's HTTP module sees a stand-in for
`httpx` whose `Client` gets our timeouts (chromadb uses `httpx` there only to build the session),
then sets them on the session again, so every request, the first included, is bounded.

`Guarded` wraps the client and every collection it returns: a timeout or a transport error
becomes a PlaybookError naming the server and the setting to change, wherever it happens
(pointer reads, queries, pages of an ingest).

Imported only in server mode (it imports chromadb and httpx).
"""

from __future__ import annotations

import threading
from typing import Any

import chromadb.api.fastapi as chroma_fastapi
import httpx
from chromadb.api.models.Collection import Collection

from rag.errors import PlaybookError

_lock = threading.Lock()  # one construction at a time while the stand-in is in place


class ChromaTimeoutError(PlaybookError):
    """The Chroma server accepted the request but did not answer in time."""


class _BoundedHttpx:
    """Stands in for the `httpx` module inside chromadb.api.fastapi during a construction."""

    def __init__(self, timeout: httpx.Timeout) -> None:
        self._timeout = timeout

    def Client(self, *args: Any, **kwargs: Any) -> httpx.Client:  # noqa: N802 - httpx's name
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return httpx.Client(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(httpx, name)


def timed_client(
    url: str, host: str, port: int, ssl: bool, headers: dict[str, str] | None,
    read: float, connect: float,
) -> Guarded:
    """A chromadb client for `host:port` whose every request gives up after the timeouts."""
    from chromadb.api.client import Client
    from chromadb.config import DEFAULT_DATABASE, DEFAULT_TENANT
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(
        anonymized_telemetry=False, chroma_api_impl="chromadb.api.fastapi.FastAPI",
        chroma_server_host=host, chroma_server_http_port=port, chroma_server_ssl_enabled=ssl,
        chroma_server_headers=headers or {},
    )
    timeout = httpx.Timeout(read, connect=connect)
    with _lock:
        original = chroma_fastapi.httpx
        chroma_fastapi.httpx = _BoundedHttpx(timeout)  # type: ignore[assignment]
        try:
            client = Client(tenant=DEFAULT_TENANT, database=DEFAULT_DATABASE, settings=settings)
        except Exception as exc:
            error = network_error(url, read, exc)
            if error is None:
                raise
            raise error from exc
        finally:
            chroma_fastapi.httpx = original
    session = getattr(getattr(client, "_server", None), "_session", None)
    if not isinstance(session, httpx.Client) or session.timeout.read != read:
        raise PlaybookError(  # a chromadb upgrade changed its internals: never run unbounded
            "This chromadb version builds its HTTP session differently: pin chromadb 1.5.x."
        )
    return Guarded(client, url, read)


def network_error(url: str, read: float, exc: BaseException) -> PlaybookError | None:
    """The sentence for a timeout or transport failure; None for any other exception.

    chromadb re-raises some as ValueError(str(exc)): the chain is searched too."""
    found: BaseException | None = exc
    for _ in range(10):
        if found is None or isinstance(found, httpx.TransportError):
            break
        found = found.__cause__ or found.__context__
    if isinstance(found, httpx.TimeoutException):
        return ChromaTimeoutError(
            f"The Chroma server at {url} did not answer within {read:g} s "
            "(PLAYBOOK_CHROMA_TIMEOUT): check that it is running and not stuck or overloaded."
        )
    if isinstance(found, httpx.TransportError):
        return PlaybookError(
            f"Cannot use the Chroma server at {url} ({found.__class__.__name__}): start it "
            "(`chroma run --host HOST --port PORT --path DIR`) or fix PLAYBOOK_CHROMA_URL."
        )
    return None


class Guarded:
    """A chromadb client or collection whose network failures raise PlaybookError."""

    def __init__(self, target: Any, url: str, read: float) -> None:
        self._target = target
        self._url = url
        self._read = read

    @property
    def name(self) -> str:
        return str(self._target.name)

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._target, attr)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                result = value(*args, **kwargs)
            except PlaybookError:
                raise
            except Exception as exc:
                error = network_error(self._url, self._read, exc)
                if error is None:
                    raise
                raise error from exc
            if isinstance(result, Collection):
                return Guarded(result, self._url, self._read)
            return result

        return call
