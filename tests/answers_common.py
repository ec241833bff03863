"""Helpers shared by the answer tests: a real index of a content folder (see conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.settings import Settings

ROOT = Path(__file__).parent.parent
FIXTURES = Path(__file__).parent / "fixtures"


def build_index(tmp: Path, content: Path, **overrides: object):  # noqa: ANN201
    """Copy `content` under tmp, ingest it for real, return Settings pointing at it."""
    from ingest.pipeline import run
    from rag.settings import Settings

    target = tmp / "content"
    shutil.copytree(content, target)
    settings = Settings.model_validate(
        {"content_dir": target, "index_dir": tmp / "index", **overrides}
    )
    run(settings)
    return settings


def chroma_ids(settings: Settings) -> list[str]:
    """Sorted ids of the vectors Chroma holds for the live generation (both stores keep every
    vector in Chroma; the embedded store's exact search uses vectors.npy beside it)."""
    from rag.index import load_index
    from rag.index.chroma_search import ChromaSearch

    search = load_index(settings.model_copy(update={"dense_search": "chroma"})).search
    assert isinstance(search, ChromaSearch)
    return sorted(search.collection.get(include=[])["ids"])


def passage(text: str, article: str = "a", heading: str = "", n: int = 0,  # noqa: ANN201
            score: float = 0.5):
    """A retrieved passage of one chunk (real text; the answerer reads text, headings and the
    passage's cosine `score`)."""
    from rag.chunk import Chunk
    from rag.retrieve import Passage

    chunk = Chunk(f"{article}#{n}", article, article.title(), f"{article}.md",
                  (article.title(), heading) if heading else (article.title(),), "", n, n,
                  1, 10, text)
    return Passage([chunk], score, 0.5)
