"""What a generation holds (its manifest) and the one-sentence errors for a damaged index."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.errors import IndexCorruptError, IndexMissingError

MANIFEST_VERSION = 1


@dataclass
class Manifest:
    """What a generation holds and how it was built."""

    embed_model: str
    chunk_tokens: int
    chunk_overlap: int
    created: str
    articles: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> hash, source, chunks
    version: int = MANIFEST_VERSION
    embed_int8: bool = False  # vectors from the int8 graph (older manifests: fp32)
    sentence_vectors: str = "exact"  # how the sentence table was made (embedder.sentence_kind)

    @property
    def chunk_count(self) -> int:
        return sum(len(a["chunks"]) for a in self.articles.values())

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        try:
            data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            return cls(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise damaged(folder.parent, exc) from exc


def damaged(where: Path | str, exc: BaseException) -> IndexCorruptError:
    return IndexCorruptError(
        f"The index in {where} is damaged ({exc.__class__.__name__}): "
        "run `playbook ingest --rebuild`."
    )


def missing(index_dir: Path) -> IndexMissingError:
    return IndexMissingError(
        f"No index found in {index_dir}: run `playbook ingest` first "
        "(or point --index / PLAYBOOK_INDEX_DIR at an existing one)."
    )
