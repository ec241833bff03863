"""Checks `playbook serve` makes before it starts the page: a non-loopback host needs
PLAYBOOK_AUTH, the auth setting is well formed, the port is free. Standard library only, so the
CLI can refuse at once, before importing Gradio (seconds on a busy machine)."""

from __future__ import annotations

import ipaddress
import socket

from rag.errors import PlaybookError
from rag.settings import Settings


def is_loopback(host: str) -> bool:
    """True for 127.0.0.1, ::1, localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_auth(settings: Settings) -> tuple[str, str] | None:
    """PLAYBOOK_AUTH as (user, password), or None; PlaybookError if malformed."""
    if settings.auth is None:
        return None
    user, sep, password = settings.auth.get_secret_value().partition(":")
    if not sep or not user or not password:
        raise PlaybookError("PLAYBOOK_AUTH must look like user:password.")
    return user, password


def check_port(host: str, port: int) -> None:
    """A clear sentence instead of Gradio's traceback when the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise PlaybookError(
                f"Cannot listen on {host}:{port} ({exc.strerror}): pick another --port."
            ) from exc


def check_serve(settings: Settings, host: str, port: int) -> tuple[str, str] | None:
    """The page's login (or None); PlaybookError when serving on host:port must not start."""
    auth = parse_auth(settings)
    if not is_loopback(host) and auth is None:
        raise PlaybookError(
            f"Refusing to serve on {host} without a password: set PLAYBOOK_AUTH=user:password "
            "or serve on 127.0.0.1."
        )
    check_port(host, port)
    return auth
