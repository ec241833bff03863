"""What keeps the page's plumbing for the page: session tokens for hidden handlers, a per-client
rate limit, and a growing delay on failed logins.

- `PageTokens`: the page's load event puts a token (an HMAC of the Gradio session id) in the
  session's gr.State; handlers that change something (answering, feedback, re-ingest) check it.
  A State value lives on the server and is filled in by Gradio, never taken from the request, so
  a raw `/queue/join` call naming a hidden handler (its fn_index) in a fresh session has no
  token and is refused. A script that replays the page's own load event first is, to the
  server, a browser: it gets a token and meets the same limits as the page (one re-ingest at a
  time, feedback per address). Only `ask` is meant as API (`gr.api`, bounded by its queue).
- `RateLimit`: a sliding one-minute window per key (the client address).
- `LoginThrottle`: ASGI middleware on `POST /login`: each failed login from an address doubles
  the wait before that address's next attempt (0.25 s, 0.5 s, ... capped); attempts sent in
  parallel queue behind each other; a success clears the count.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

MAX_CLIENTS = 10_000  # bounded memory however many addresses call
NOT_PAGE = "This action only works from the chat page: reload the page and try again."


def client_address(request: Any) -> str:
    """The caller's IP address from a gr.Request ('?' when unknown)."""
    client = getattr(request, "client", None)
    return str(getattr(client, "host", None) or "?")


class PageTokens:
    """Issues and checks the per-session token of the page's hidden handlers."""

    def __init__(self) -> None:
        self._secret = secrets.token_bytes(32)

    def _for(self, session: str) -> str:
        return hmac.new(self._secret, session.encode(), hashlib.sha256).hexdigest()

    def issue(self, request: Any) -> str | None:
        """The token for this request's session (the page's load event stores it in State)."""
        session = getattr(request, "session_hash", None)
        return self._for(session) if session else None

    def valid(self, token: Any, request: Any) -> bool:
        """True when `token` is the one issued to this request's session."""
        session = getattr(request, "session_hash", None)
        if not isinstance(token, str) or not session:
            return False
        return hmac.compare_digest(token, self._for(session))


class RateLimit:
    """At most `per_minute` events per key in any 60-second window (thread-safe)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Count one event for `key`; False (and not counted) when over the limit."""
        now = self._clock()
        with self._lock:
            times = self._seen.pop(key, None) or deque()
            while times and now - times[0] >= 60.0:
                times.popleft()
            allowed = len(times) < self.per_minute
            if allowed:
                times.append(now)
            self._seen[key] = times  # most recent last: the oldest key is evicted first
            while len(self._seen) > MAX_CLIENTS:
                self._seen.popitem(last=False)
            return allowed


class LoginThrottle:
    """ASGI middleware: a delay before each login attempt that doubles per failure."""

    def __init__(self, app: Any, max_delay: float = 8.0, base: float = 0.25,
                 forget_after: float = 900.0) -> None:
        self.app = app
        self.max_delay, self.base, self.forget_after = max_delay, base, forget_after
        self._state: OrderedDict[str, list[float]] = OrderedDict()  # addr -> [failures, free_at]

    def delay(self, failures: int) -> float:
        """Seconds to wait after `failures` failed attempts (0 for none)."""
        if failures <= 0:
            return 0.0
        return min(self.max_delay, self.base * 2 ** min(failures - 1, 30))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if not (scope.get("type") == "http" and scope.get("method") == "POST"
                and str(scope.get("path", "")).rstrip("/").endswith("/login")):
            await self.app(scope, receive, send)
            return
        address = str((scope.get("client") or ("?",))[0])
        await asyncio.sleep(self._reserve(address))
        status: dict[str, int] = {}

        async def watch(message: dict[str, Any]) -> None:
            if message.get("type") == "http.response.start":
                status["code"] = int(message.get("status", 0))
            await send(message)

        await self.app(scope, receive, watch)
        self._record(address, ok=status.get("code") == 200)

    def _reserve(self, address: str) -> float:
        """This attempt's wait: attempts in parallel are spaced by the current delay."""
        now = time.monotonic()
        failures, free_at = self._state.pop(address, [0.0, now])
        if now - free_at > self.forget_after:
            failures = 0.0
        start = max(now, free_at)
        self._state[address] = [failures, start + self.delay(int(failures))]
        while len(self._state) > MAX_CLIENTS:
            self._state.popitem(last=False)
        return start - now

    def _record(self, address: str, ok: bool) -> None:
        entry = self._state.get(address)
        if entry is None:
            return
        if ok:
            self._state.pop(address, None)
        else:
            entry[0] += 1
            entry[1] = max(entry[1], time.monotonic() + self.delay(int(entry[0])))


class Guards:
    """The page's limits: session tokens for hidden handlers, feedback rows per client."""

    def __init__(self, settings: Any) -> None:
        self.tokens = PageTokens()
        self.feedback = RateLimit(settings.feedback_per_minute)

    def check(self, token: Any, request: Any) -> None:
        """Refuse (gr.Error) a call that does not come from a session the page opened."""
        if not self.tokens.valid(token, request):
            import gradio as gr

            raise gr.Error(NOT_PAGE)
