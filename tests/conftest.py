"""Shared fixtures: real Chroma on temp dirs, the real MiniLM model, real article files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parent.parent
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never inherit PLAYBOOK_* settings from the developer's shell."""
    for key in list(os.environ):
        if key.startswith("PLAYBOOK_"):
            monkeypatch.delenv(key)


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """A writable copy of the fixture playbook."""
    target = tmp_path / "content"
    shutil.copytree(FIXTURES / "playbook", target)
    return target


@pytest.fixture
def settings(tmp_path: Path, content: Path):  # noqa: ANN201
    from rag.settings import Settings

    return Settings(content_dir=content, index_dir=tmp_path / "index")


@pytest.fixture(scope="session")
def count_tokens():  # noqa: ANN201
    from rag.embedder import count_tokens_factory

    return count_tokens_factory("all-MiniLM-L6-v2")
