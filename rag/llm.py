"""LLM factory: a local GGUF model run in-process by llama.cpp, or any OpenAI-compatible server.

Both backends expose one small interface, `ChatModel.stream(messages, max_tokens)`, yielding text
increments. Each backend lives in its own module (rag/llm_local.py, rag/llm_openai.py), imported
only when asked for; a missing optional package raises BackendMissingError naming what to
install. Every failure of the model itself (server down, timeout, garbage) is an LLMError so
callers can fall back to the extractive answer.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Generator
from typing import Any

from rag.chat import ChatModel, Message
from rag.errors import BackendMissingError, LLMError
from rag.settings import Settings


def _local(settings: Settings) -> ChatModel:
    from rag.llm_local import local_model

    return local_model(settings)


def _openai(settings: Settings) -> ChatModel:
    from rag.llm_openai import OpenAIModel

    return OpenAIModel(settings)


# answerer name -> the chat model behind it (add a backend: one module, one function, one row)
LLMS: dict[str, Callable[[Settings], ChatModel]] = {"local": _local, "openai": _openai}


def make_llm(settings: Settings, name: str | None = None) -> ChatModel:
    """The chat model for answerer `name` (default `settings.llm`): 'local' or 'openai'."""
    name = name or settings.llm
    if name not in LLMS:
        raise BackendMissingError(f"No language model for answerer '{name}'.")
    return LLMS[name](settings)


def complete(model: ChatModel, messages: list[Message], max_tokens: int) -> str:
    """The whole reply as one string."""
    return "".join(model.stream(messages, max_tokens))


class FirstTokenLate(LLMError):
    """The model did not start answering within the first-token budget."""


def timed_stream(
    model: ChatModel, messages: list[Message], max_tokens: int,
    first_token_timeout: float, timeout: float,
) -> Generator[str, None, None]:
    """`model.stream` run in a worker thread, watched from the caller's thread.

    Raises FirstTokenLate when nothing arrives within `first_token_timeout` (the caller shows
    the extractive answer instead of waiting). Once text flows, the reply simply ends at the
    `timeout` deadline or after `first_token_timeout` of silence, keeping what arrived. Closing
    the generator early (a repetition stop) tells the worker to stop at its next token.
    """
    pieces: queue.Queue[tuple[str, Any]] = queue.Queue()
    stop = threading.Event()
    finished = threading.Event()

    def work() -> None:
        try:
            for piece in model.stream(messages, max_tokens):
                if stop.is_set():
                    break
                pieces.put(("text", piece))
        except LLMError as exc:
            pieces.put(("error", exc))
        except Exception as exc:  # noqa: BLE001 - any failure of a model becomes an LLMError
            pieces.put(("error", LLMError(f"The model failed: {exc}.")))
        finished.set()
        pieces.put(("end", None))

    threading.Thread(target=work, name="llm-stream", daemon=True).start()
    started = time.monotonic()
    seen = False
    try:
        while True:
            left = timeout - (time.monotonic() - started)
            wait = min(first_token_timeout, left)
            try:
                kind, value = pieces.get(timeout=max(wait, 0.0))
            except queue.Empty:
                if not seen:
                    waited = min(first_token_timeout, timeout)
                    raise FirstTokenLate(
                        f"The model timed out: no first token after {waited:g} s"
                    ) from None
                return  # silence or the overall deadline: keep what arrived
            if kind == "end":
                return
            if kind == "error":
                if seen and isinstance(value, LLMError) and "longer than" in str(value):
                    return
                raise value
            seen = True
            yield value
    finally:
        stop.set()
        abort = getattr(model, "abort", None)
        if abort is not None and not finished.is_set():
            abort()
