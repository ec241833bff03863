"""Helpers shared by the answer tests: a real index of a content folder (see conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

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
