"""Answerers turn (question, passages) into an Answer. One interface, picked by `settings.llm`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from rag.answer import Answer
from rag.retrieve import Passage
from rag.settings import Settings

TokenCallback = Callable[[str], None]


class Answerer(Protocol):
    """Composes an answer from numbered passages; passage i is cited as [i+1]."""

    name: str

    def answer(
        self, question: str, passages: list[Passage], settings: Settings,
        on_token: TokenCallback | None = None,
    ) -> Answer: ...


def get_answerer(name: str) -> Answerer:
    """The answerer registered under `name` (extractive, local, openai)."""
    from rag.answerers.extractive import ExtractiveAnswerer

    if name == "extractive":
        return ExtractiveAnswerer()
    if name in ("local", "openai"):
        from rag.answerers.generative import GenerativeAnswerer

        return GenerativeAnswerer(name)
    raise ValueError(f"Unknown answerer '{name}': choose extractive, local or openai.")
