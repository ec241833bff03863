"""Playbook Q&A's core: `rag.ask(question, settings, history=()) -> Answer`.

The public API is imported lazily (PEP 562), so `import rag` (and `playbook --help`) stays
instant; ingesting is `ingest.run(settings) -> IngestReport` in the ingest package.

    from rag import Settings, ask
    answer = ask("How do I approach a tribal team?", Settings())
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rag.answer import Answer, Citation
    from rag.api import ask
    from rag.errors import PlaybookError
    from rag.settings import Settings

_EXPORTS = {
    "ask": "rag.api",
    "Answer": "rag.answer",
    "Citation": "rag.answer",
    "Settings": "rag.settings",
    "PlaybookError": "rag.errors",
}
__all__ = ["Answer", "Citation", "PlaybookError", "Settings", "ask"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'rag' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
