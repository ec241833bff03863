"""A scripted OpenAI-compatible LLM server for end-to-end tests (stdlib only).

It serves `GET /v1/models` and `POST /v1/chat/completions`, with and without `stream` (SSE
chunks, then `data: [DONE]`), and answers every chat request with a fixed reply chosen from a
script: the first entry whose `when` text occurs in the last user message, else `default`.
Every request body is appended to a log (one JSON line) so a test can check the prompt.

As a test fixture:

    with ScriptedLLM({"replies": [{"when": "tribal", "text": "..."}]}, tmp_path) as llm:
        env["PLAYBOOK_OPENAI_BASE_URL"] = llm.url          # http://127.0.0.1:PORT/v1

The server runs as its own process (`python tests/scripted_llm.py SCRIPT.json LOG.jsonl`), prints
`READY <port>` once listening, and is stopped by pid when the `with` block ends.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

MODEL = "scripted"


def choose(script: dict[str, Any], messages: list[dict[str, str]]) -> str:
    """The reply for a conversation: first `when` found in the last user message, else default."""
    user = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
    for entry in script.get("replies", []):
        if entry.get("when", "").lower() in user.lower():
            return str(entry["text"])
    return str(script.get("default", "The passages do not cover this."))


def pieces(text: str, size: int = 3) -> list[str]:
    """The reply cut into stream increments of a few words (spaces kept, like real tokens)."""
    tokens = text.split(" ")
    return [" ".join(tokens[i:i + size]) + (" " if i + size < len(tokens) else "")
            for i in range(0, len(tokens), size)]


class Handler(BaseHTTPRequestHandler):
    """The two endpoints; `script` and `log` are set on the server object."""

    server: Any
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet: the request log file is the record."""

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        """`/v1/models`: the one scripted model."""
        if self.path.rstrip("/").endswith("/models"):
            self._json(200, {"object": "list", "data": [
                {"id": MODEL, "object": "model", "created": 0, "owned_by": "tests"}]})
        else:
            self._json(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:  # noqa: N802
        """`/v1/chat/completions`: the scripted reply, whole or streamed."""
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._json(404, {"error": {"message": f"no route {self.path}"}})
            return
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        with open(self.server.log, "a", encoding="utf-8") as log:
            log.write(json.dumps(body) + "\n")
        reply = choose(self.server.script, body.get("messages", []))
        if body.get("stream"):
            self._stream(reply)
            return
        self._json(200, {
            "id": "chatcmpl-scripted", "object": "chat.completion", "created": int(time.time()),
            "model": MODEL, "choices": [{"index": 0, "finish_reason": "stop",
                                         "message": {"role": "assistant", "content": reply}}],
            "usage": {"prompt_tokens": 0, "completion_tokens": len(reply.split()),
                      "total_tokens": len(reply.split())},
        })

    def _stream(self, reply: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        deltas = [{"role": "assistant", "content": ""}] + [{"content": p} for p in pieces(reply)]
        delay = float(self.server.script.get("delay", 0.0))  # seconds between chunks
        for i, delta in enumerate([*deltas, {}]):
            if delay and i:
                time.sleep(delay)
            chunk = {"id": "chatcmpl-scripted", "object": "chat.completion.chunk",
                     "created": int(time.time()), "model": MODEL,
                     "choices": [{"index": 0, "delta": delta,
                                  "finish_reason": "stop" if i == len(deltas) else None}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


def serve(script_path: Path, log_path: Path, port: int = 0) -> None:
    """Run the server until killed; print `READY <port>` when listening."""
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.script = json.loads(script_path.read_text(encoding="utf-8"))  # type: ignore[attr-defined]
    server.log = log_path  # type: ignore[attr-defined]
    print(f"READY {server.server_address[1]}", flush=True)
    server.serve_forever()


class ScriptedLLM:
    """The scripted server as a subprocess: `with ScriptedLLM(script, folder) as llm: llm.url`."""

    def __init__(self, script: dict[str, Any], folder: Path) -> None:
        self.script_path = folder / "llm-script.json"
        self.log_path = folder / "llm-requests.jsonl"
        self.script_path.write_text(json.dumps(script), encoding="utf-8")
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> ScriptedLLM:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, str(self.script_path), str(self.log_path)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # blocks until READY (or EOF if it died)
        if not line.startswith("READY "):
            self.__exit__(None, None, None)
            raise RuntimeError(f"the scripted LLM server did not start: {line!r}")
        self.url = f"http://127.0.0.1:{int(line.split()[1])}/v1"
        return self

    def requests(self) -> list[dict[str, Any]]:
        """The request bodies received so far."""
        if not self.log_path.exists():
            return []
        return [json.loads(x) for x in self.log_path.read_text(encoding="utf-8").splitlines()]

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()


if __name__ == "__main__":
    serve(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 0)
