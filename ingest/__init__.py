"""Files -> articles -> chunks -> index: `ingest.run(settings) -> IngestReport`.

Incremental (unchanged articles are never re-embedded) and atomic (a crash leaves the previous
index usable). Imported lazily so `import ingest` costs nothing until an ingest runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ingest.pipeline import IngestReport, run

__all__ = ["IngestReport", "run"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from ingest import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'ingest' has no attribute {name!r}")
