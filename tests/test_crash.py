"""Crash safety: a real `playbook ingest` process is killed with SIGKILL at several points, and
damaged or missing index folders give one clear sentence that `ingest --rebuild` cures.

The kill points use the test-only hook rag.index.backend.crash_point_for_tests (environment variable
PLAYBOOK_TEST_CRASH_AT), which sends SIGKILL to the ingest process itself: the same as `kill -9`
arriving at exactly that step, without timing races.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from answers_common import chroma_ids

from ingest.pipeline import run
from rag.api import retrieve_passages
from rag.errors import IndexCorruptError, IndexMissingError
from rag.index.backend import CRASH_POINTS, open_store
from rag.settings import Settings

pytestmark = pytest.mark.slow  # starts servers or several processes: not in the fast tier

ROOT = Path(__file__).parent.parent
OLD_TEXT = "first week"
NEW_TEXT = "first three days"
QUESTION = "how soon should a new engineer ship"


def playbook(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PLAYBOOK_")}
    return subprocess.run(
        [sys.executable, "-m", "ui.cli", *args], capture_output=True, text=True, cwd=ROOT,
        env={**clean, **(env or {})}, timeout=300,
    )


def _exact(settings: Settings) -> list[str]:
    """Chunk ids of the live generation, checked equal to its vector ids (no dupes, no loss)."""
    store = open_store(settings)
    generation = store.current()
    assert generation is not None
    chunks = sorted(c.id for c in store.chunks(generation))
    assert chroma_ids(settings) == chunks
    assert len(set(chunks)) == len(chunks)
    return chunks


def _change(content: Path) -> None:
    path = content / "teams" / "onboarding.md"
    path.write_text(path.read_text().replace(OLD_TEXT, NEW_TEXT))
    sections = "".join(f"## Step {n}\n\nRetro step {n}: keep it blameless.\n\n" for n in range(4))
    (content / "new.md").write_text("# Retros\n\nHold one every sprint.\n\n" + sections)


def _crash_then_recover(settings: Settings, content: Path, point: str, env: dict,
                        after_crash: Callable[[], None] | None = None,
                        built: bool = False) -> None:
    """`built`: settings hold the fixture playbook's index already (a copy); else ingested."""
    first = open_store(settings).current() if built else run(settings).generation
    before = _exact(settings)
    _change(content)
    # Only mid-embed needs several embedding blocks (a block is 4 batches): batches of one
    # text there; the other points crash before or after embedding: the default batch size
    # (batches of one made the after-embed and mid-swap ingests encode the change text by text).
    batch = {"PLAYBOOK_EMBED_BATCH_SIZE": "1"} if point == "mid-embed" else {}
    killed = playbook(
        "ingest", "--content", str(content), "--index", str(settings.index_path), "--json",
        env={**env, "PLAYBOOK_TEST_CRASH_AT": point, **batch},
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    store = open_store(settings)
    assert store.current() == first  # the old index is still the live one ...
    assert _exact(settings) == before
    assert OLD_TEXT in retrieve_passages(QUESTION, settings)[0].text  # ... and still answers
    if after_crash:
        after_crash()
    report = run(settings)  # the next ingest completes, exactly
    assert (report.added, report.updated, report.unchanged, report.removed) == (1, 1, 2, 0)
    chunks = _exact(settings)
    assert len(chunks) == report.chunks and any(c.startswith("new#") for c in chunks)
    assert NEW_TEXT in retrieve_passages(QUESTION, settings)[0].text


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_kill_9_embedded(built: Settings, content: Path, point: str) -> None:
    _crash_then_recover(built, content, point, {}, built=True)
    index = built.index_path
    leftovers = [p.name for p in index.iterdir() if p.name.startswith("gen-")]
    assert len(leftovers) == 2 and not list(index.glob("*.tmp-*"))  # live + previous only


SERVER_POINTS = ["before-embed", "mid-embed", "server-after-mark", "after-embed", "mid-swap"]


def _server_settings(tmp_path: Path, content: Path, url: str) -> tuple[Settings, dict]:
    prefix = "t" + uuid.uuid4().hex[:10]
    settings = Settings(content_dir=content, index_dir=tmp_path / "index",
                        chroma_url=url, chroma_prefix=prefix)
    return settings, {"PLAYBOOK_CHROMA_URL": url, "PLAYBOOK_CHROMA_PREFIX": prefix}


@pytest.mark.server
@pytest.mark.parametrize("point", SERVER_POINTS)
def test_kill_9_server(tmp_path: Path, content: Path, chroma_server: str, point: str) -> None:
    """Killed before the pointer flips: readers stay on the old generation, the crashed
    ingest's records (new versions, death marks) are invisible, the next ingest clears them."""
    from rag.index.server import ServerStore
    from rag.index.server_writer import leftovers

    settings, env = _server_settings(tmp_path, content, chroma_server)
    left: list[str] = []
    _crash_then_recover(settings, content, point, env,
                        lambda: left.extend(leftovers(ServerStore(settings))))
    kinds = {item.split()[0] for item in left}  # what the crashed ingest had written
    wrote = {"before-embed": set(), "mid-embed": set(), "server-after-mark": {"mark"},
             "after-embed": {"mark", "record"}, "mid-swap": {"mark", "record", "manifest"}}
    assert kinds == wrote[point], left
    store = ServerStore(settings)
    assert leftovers(store) == []  # cleaned up, and collected after the flip
    assert len(store.collections()) == 1  # one versioned collection, no copies


@pytest.mark.server
def test_kill_9_server_after_flip(tmp_path: Path, content: Path, chroma_server: str) -> None:
    """Killed after the flip, before garbage collection: the new generation answers; the old
    versions it left are collected by the next ingest that writes."""
    from rag.index.server import ServerStore
    from rag.index.server_writer import leftovers

    settings, env = _server_settings(tmp_path, content, chroma_server)
    run(settings)
    path = content / "building-trust.md"
    path.write_text(path.read_text() + "\n\nOne more paragraph on trust.\n")
    second = run(settings)
    _change(content)
    killed = playbook(
        "ingest", "--content", str(content), "--index", str(settings.index_path), "--json",
        env={**env, "PLAYBOOK_TEST_CRASH_AT": "server-after-flip"},
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    store = ServerStore(settings)
    assert store.current() not in (None, second.generation)
    assert store.pointer()["previous"] == second.generation
    assert NEW_TEXT in retrieve_passages(QUESTION, settings)[0].text
    assert len(_exact(settings)) == store.manifest(store.current() or "").chunk_count
    stale = leftovers(store)
    assert any(s.startswith("record ") for s in stale) and any(
        s.startswith("manifest ") for s in stale), stale
    (content / "new.md").write_text("# Retros\n\nHold one every sprint. Keep it short.\n")
    report = run(settings)
    assert report.updated == 1 and leftovers(store) == []
    assert len(_exact(settings)) == report.chunks


def _damage(index: Path, how: str) -> None:
    gen = index / (index / "CURRENT").read_text().strip()
    if how == "pointer-garbage":
        (index / "CURRENT").write_text("\x00\x01 not a generation\n")
    elif how == "generation-deleted":
        shutil.rmtree(gen)
    elif how == "manifest-truncated":
        (gen / "manifest.json").write_text('{"embed_model": "all-Mi')
    elif how == "chunks-truncated":
        text = (gen / "chunks.jsonl").read_text()
        (gen / "chunks.jsonl").write_text(text[: len(text) // 2])
    elif how == "bm25-deleted":
        (gen / "bm25.npz").unlink()
    elif how == "vectors-deleted":
        shutil.rmtree(gen / "chroma")
    elif how == "vectors-garbage":
        (gen / "chroma" / "chroma.sqlite3").write_bytes(os.urandom(4096))
    elif how == "matrix-garbage":
        (gen / "vectors.npy").write_bytes(os.urandom(300))


DAMAGES = ["pointer-garbage", "generation-deleted", "manifest-truncated", "chunks-truncated",
           "bm25-deleted", "vectors-deleted", "vectors-garbage", "matrix-garbage"]


@pytest.mark.parametrize("how", DAMAGES)
def test_damaged_index_is_one_sentence_and_rebuild_recovers(
    settings: Settings, fixtures: Settings, how: str
) -> None:
    shutil.copytree(fixtures.index_path, settings.index_path)  # the same articles, built once
    _damage(settings.index_path, how)
    with pytest.raises(IndexCorruptError, match=r"damaged .*run `playbook ingest --rebuild`\.$"):
        retrieve_passages(QUESTION, settings)
    with pytest.raises(IndexCorruptError, match="--rebuild"):
        run(settings)  # a plain ingest does not build on a damaged index
    report = run(settings, rebuild=True)
    assert report.added == 3 and len(_exact(settings)) == report.chunks
    assert OLD_TEXT in retrieve_passages(QUESTION, settings)[0].text


def test_cli_on_damaged_and_missing_index(tmp_path: Path) -> None:
    index = tmp_path / "index"
    content = str(ROOT / "tests" / "fixtures" / "playbook")
    assert playbook("ingest", "--content", content, "--index", str(index)).returncode == 0
    _damage(index, "generation-deleted")
    for args in (["ask", QUESTION], ["ingest", "--content", content]):
        done = playbook(*args, "--index", str(index))
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert done.stderr.count("\n") == 1 and "playbook ingest --rebuild" in done.stderr
    rebuilt = playbook("ingest", "--content", content, "--index", str(index), "--rebuild", "--json")
    assert rebuilt.returncode == 0 and json.loads(rebuilt.stdout)["added"] == 3
    asked = playbook("ask", QUESTION, "--index", str(index), "--json")
    assert asked.returncode == 0 and json.loads(asked.stdout)["citations"]

    (tmp_path / "a-file").write_text("not a folder")
    done = playbook("ask", QUESTION, "--index", str(tmp_path / "a-file"))
    assert done.returncode == 1 and "is a file, not a folder" in done.stderr


def test_missing_index_dir_is_one_sentence(settings: Settings) -> None:
    with pytest.raises(IndexMissingError, match="run `playbook ingest` first"):
        retrieve_passages(QUESTION, settings)
