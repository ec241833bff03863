"""The openai answerer's model: any OpenAI-compatible chat server (OpenAI, Ollama, vLLM,
llama.cpp server), with bounded connect/read timeouts and every failure turned into an LLMError.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from rag.chat import Message
from rag.errors import LLMError, missing_package
from rag.settings import Settings


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
