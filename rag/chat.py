"""The one interface every language-model backend implements (rag/llm.py picks one)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

Message = dict[str, str]


class ChatModel(Protocol):
    """A chat model that streams its reply."""

    name: str

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str]:
        """Yield the reply's text increments; raise LLMError on any failure or timeout."""
        ...
