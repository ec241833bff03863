"""Processes a benchmark starts on 127.0.0.1 and stops by pid: a Chroma server, `playbook
ingest` and `playbook serve` subprocesses, with a clean environment (no PLAYBOOK_* from the
shell) and a wait that fails with the process's log when it exits early or never gets ready.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def env_for(chroma_url: str | None, **extra: str) -> dict[str, str]:
    """A clean environment (no PLAYBOOK_* from the shell) pointing at the Chroma server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYBOOK_")}
    env.update(HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
               ANONYMIZED_TELEMETRY="False", PYTHONUNBUFFERED="1", **extra)
    if chroma_url:
        env["PLAYBOOK_CHROMA_URL"] = chroma_url
    return env


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM by pid, SIGKILL if it does not exit."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


def start_chroma(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A real `chroma run` on a free port; returns (process, URL) once its heartbeat answers."""
    port = free_port()
    log = open(folder / "chroma.log", "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "chroma"), "run", "--path", str(folder / "db"),
         "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    _wait(lambda: _get(f"{url}/api/v2/heartbeat"), proc, folder / "chroma.log", 60)
    return proc, url


def ingest(content: Path, index: Path, env: dict[str, str], *extra: str) -> dict[str, Any]:
    """`playbook ingest --json` in a subprocess; returns its report."""
    done = subprocess.run(
        [sys.executable, "-m", "ui.cli", "ingest", "--content", str(content),
         "--index", str(index), "--json", *extra],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    if done.returncode != 0:
        raise RuntimeError(f"playbook ingest failed: {done.stderr}")
    return dict(json.loads(done.stdout))


def start_serve(
    content: Path, index: Path, env: dict[str, str], log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """A real `playbook serve` on a free port; returns (process, URL) once warmed up."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ui.cli", "serve", "--content", str(content),
             "--index", str(index), "--port", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"

    def ready() -> bool:
        return "Ready:" in log.read_text(errors="replace") and _get(url)

    _wait(ready, proc, log, 300)
    return proc, url


def _get(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _wait(
    check: Callable[[], bool], proc: subprocess.Popen[bytes], log: Path, limit: float
) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"pid {proc.pid} exited early:\n{log.read_text(errors='replace')}")
        if check():
            return
        time.sleep(0.3)
    raise RuntimeError(f"not ready after {limit}s:\n{log.read_text(errors='replace')}")
