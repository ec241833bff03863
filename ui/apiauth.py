"""Who may call /api and /mcp: the page's login (PLAYBOOK_AUTH, as HTTP Basic) or
`Authorization: Bearer <PLAYBOOK_API_TOKEN>`.

With neither set the server is open, which `playbook serve` only allows on a loopback address
(as for the page). A wrapped ASGI app also refuses bodies over MAX_BODY before reading them.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from dataclasses import dataclass
from typing import Any

from rag.settings import Settings
from ui.listen import parse_auth

MAX_BODY = 1 << 20  # a question is at most a few KB; history included, 1 MiB is plenty
CHALLENGE = 'Basic realm="Playbook Q&A", charset="UTF-8"'

ASGIApp = Any


@dataclass(frozen=True)
class Guard:
    """The credentials accepted (none configured: everyone is let in)."""

    basic: tuple[str, str] | None = None
    token: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Guard:
        """PLAYBOOK_AUTH (user:password) and PLAYBOOK_API_TOKEN; PlaybookError when the first is
        malformed."""
        basic = parse_auth(settings)  # a malformed setting is one sentence, never an open door
        token = settings.api_token.get_secret_value() if settings.api_token else None
        return cls(basic, token or None)

    @property
    def open(self) -> bool:
        """True when no credentials are configured."""
        return self.basic is None and self.token is None

    def allows(self, authorization: str) -> bool:
        """Whether an Authorization header value carries accepted credentials."""
        if self.open:
            return True
        scheme, _, value = authorization.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and self.token is not None:
            return hmac.compare_digest(value.encode(), self.token.encode())
        if scheme.lower() == "basic" and self.basic is not None:
            try:
                user, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            # Compare both parts, always, in constant time.
            ok_user = hmac.compare_digest(user.encode(), self.basic[0].encode())
            ok_password = hmac.compare_digest(password.encode(), self.basic[1].encode())
            return bool(sep) and ok_user and ok_password
        return False

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """The ASGI app behind this guard."""
        return _Guarded(app, self)


class _Guarded:
    def __init__(self, app: ASGIApp, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if not self.guard.allows(headers.get("authorization", "")):
            message = ("Missing or wrong credentials: send the page's login as HTTP Basic or "
                       "'Authorization: Bearer <PLAYBOOK_API_TOKEN>'.")
            challenge = CHALLENGE if self.guard.basic else 'Bearer realm="Playbook Q&A"'
            await _reply(send, 401, message, [(b"www-authenticate", challenge.encode())])
            return
        length = headers.get("content-length", "0")
        if not length.isdigit() or int(length) > MAX_BODY:
            await _reply(send, 413, f"The request body is over {MAX_BODY // 1024} KB.")
            return
        await self.app(scope, receive, send)


async def _reply(send: Any, status: int, message: str,
                 extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
