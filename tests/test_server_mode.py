"""Store, ingest and ask against both backends: embedded Chroma and a real `chroma run` server.

The server is started by the `chroma_server` fixture (conftest.py) on 127.0.0.1 and killed by pid.
Each server-mode test uses its own collection prefix, so tests never see each other's index.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from answers_common import chroma_ids

from ingest.pipeline import run
from rag.api import ask, retrieve_passages
from rag.errors import IndexCorruptError, IndexMissingError, PlaybookError
from rag.index import load_index
from rag.index.backend import open_store
from rag.settings import Settings

pytestmark = [pytest.mark.server, pytest.mark.slow]
QUESTION = "How do I approach a tribal team?"


@pytest.fixture(params=["embedded", "server"])
def mode_settings(request: pytest.FixtureRequest, tmp_path: Path, content: Path) -> Settings:
    """Settings for one backend (the server one starts `chroma run` on first use)."""
    values: dict = {"content_dir": content, "index_dir": tmp_path / "index"}
    if request.param == "server":
        values["chroma_url"] = request.getfixturevalue("chroma_server")
        values["chroma_prefix"] = "t" + uuid.uuid4().hex[:10]
    return Settings(**values)


def _ids(settings: Settings) -> tuple[list[str], list[str]]:
    """(vector ids, chunk ids) of the live generation: equal when nothing is lost or doubled."""
    store = open_store(settings)
    generation = store.current()
    assert generation is not None
    return chroma_ids(settings), sorted(c.id for c in store.chunks(generation))


def test_ingest_is_incremental_and_exact(mode_settings: Settings, content: Path) -> None:
    first = run(mode_settings)
    assert (first.articles, first.added, first.chunks) == (3, 3, first.embedded)
    vectors, chunks = _ids(mode_settings)
    assert vectors == chunks and len(chunks) == first.chunks
    top = retrieve_passages(QUESTION, mode_settings)[0]
    assert top.first.article_id == "building-trust"

    again = run(mode_settings)
    assert (again.unchanged, again.embedded, again.generation) == (3, 0, first.generation)

    (content / "new.md").write_text("# Retros\n\nHold one every sprint. Keep it blameless.\n")
    path = content / "teams" / "onboarding.md"
    path.write_text(path.read_text().replace("first week", "first three days"))
    (content / "code-reviews.md").unlink()
    report = run(mode_settings)
    assert (report.added, report.updated, report.removed, report.unchanged) == (1, 1, 1, 1)
    vectors, chunks = _ids(mode_settings)
    assert vectors == chunks and len(chunks) == report.chunks
    assert not any(c.startswith("code-reviews#") for c in chunks)
    passages = retrieve_passages("how soon should a new engineer ship", mode_settings)
    assert "first three days" in passages[0].text


def test_failed_ingest_leaves_old_index_and_next_run_is_exact(
    mode_settings: Settings, content: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run(mode_settings)
    before = _ids(mode_settings)
    (content / "building-trust.md").write_text("# Replaced\n\nNothing about trust any more.\n")

    def fail_after_embedding(name: str) -> None:
        if name == "after-embed":
            raise RuntimeError("disk full")

    monkeypatch.setattr("ingest.pipeline.crash_point_for_tests", fail_after_embedding)
    with pytest.raises(RuntimeError):
        run(mode_settings)
    monkeypatch.undo()
    store = open_store(mode_settings)
    assert store.current() == first.generation and _ids(mode_settings) == before
    assert "tactics" in retrieve_passages(QUESTION, mode_settings)[0].text
    report = run(mode_settings)
    assert report.updated == 1
    vectors, chunks = _ids(mode_settings)
    assert vectors == chunks and len(chunks) == report.chunks


def test_reader_follows_new_generation_while_old_one_still_answers(
    mode_settings: Settings, content: Path
) -> None:
    run(mode_settings)
    old = load_index(mode_settings)
    assert load_index(mode_settings) is old  # cached while the pointer does not move
    (content / "new.md").write_text("# Retros\n\nHold one every sprint. Keep it blameless.\n")
    report = run(mode_settings)
    new = load_index(mode_settings)
    assert new.generation == report.generation != old.generation
    assert any(c.startswith("new#") for c in new.chunks) and len(new.chunks) == report.chunks
    assert new.bm25.search("blameless retros", 1)[0][0].startswith("new#")
    vector = [0.0] * 383 + [1.0]
    assert len(old.dense(vector, 3)) == 3  # the previous generation is kept for readers in flight


def test_both_modes_give_the_same_answer(
    tmp_path: Path, content: Path, chroma_server: str
) -> None:
    embedded = Settings(content_dir=content, index_dir=tmp_path / "a")
    server = Settings(content_dir=content, index_dir=tmp_path / "b", chroma_url=chroma_server,
                      chroma_prefix="t" + uuid.uuid4().hex[:10])
    run(embedded)
    run(server)
    for question in (QUESTION, "What should a code review focus on?", "first week onboarding"):
        one, two = ask(question, embedded).to_json(), ask(question, server).to_json()
        assert one["answer"] == two["answer"]
        assert [c["text"] for c in one["citations"]] == [c["text"] for c in two["citations"]]


def test_server_messages_are_one_clear_sentence(tmp_path: Path, content: Path,
                                                chroma_server: str) -> None:
    settings = Settings(content_dir=content, index_dir=tmp_path / "i", chroma_url=chroma_server,
                        chroma_prefix="t" + uuid.uuid4().hex[:10])
    with pytest.raises(IndexMissingError, match="run `playbook ingest` first"):
        retrieve_passages("anything", settings)
    run(settings)
    store = open_store(settings)
    generation = store.current()
    assert generation is not None
    store.client.delete_collection(store.location(generation))
    with pytest.raises(IndexCorruptError, match=r"run `playbook ingest --rebuild`"):
        retrieve_passages("anything", settings)
    with pytest.raises(IndexCorruptError, match=r"--rebuild"):
        run(settings)
    report = run(settings, rebuild=True)
    assert report.added == 3 and retrieve_passages(QUESTION, settings)[0].text
    vectors, chunks = _ids(settings)
    assert vectors == chunks and len(chunks) == report.chunks

    down = settings.model_copy(update={"chroma_url": f"http://127.0.0.1:{_closed_port()}"})
    with pytest.raises(PlaybookError, match="Cannot use the Chroma server"):
        retrieve_passages("anything", down)


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _TokenProxy:
    """A real HTTP reverse proxy in front of `chroma run` that requires `Bearer <token>`, as a
    team would put in front of a shared server (chroma run itself checks no token)."""

    def __init__(self, upstream: str, token: str) -> None:
        import http.server
        import threading
        import urllib.error
        import urllib.request

        proxy = self
        self.seen: list[str] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def _forward(self) -> None:
                proxy.seen.append(self.headers.get("Authorization", ""))
                if self.headers.get("Authorization") != f"Bearer {token}":
                    self.send_response(401)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                length = int(self.headers.get("Content-Length") or 0)
                request = urllib.request.Request(
                    upstream + self.path, data=self.rfile.read(length) if length else None,
                    method=self.command,
                    headers={"Content-Type": self.headers.get("Content-Type", "application/json")},
                )
                try:
                    with urllib.request.urlopen(request, timeout=60) as response:
                        status, body = response.status, response.read()
                except urllib.error.HTTPError as exc:
                    status, body = exc.code, exc.read()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _forward

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_token_is_sent_on_every_request(tmp_path: Path, content: Path,
                                        chroma_server: str) -> None:
    proxy = _TokenProxy(chroma_server, "s3cret")
    try:
        values = {"content_dir": content, "index_dir": tmp_path / "i", "chroma_url": proxy.url,
                  "chroma_prefix": "t" + uuid.uuid4().hex[:10]}
        with_token = Settings(**values, chroma_token="s3cret")
        run(with_token)
        assert retrieve_passages(QUESTION, with_token)[0].first.article_id == "building-trust"
        assert proxy.seen and set(proxy.seen) == {"Bearer s3cret"}
        with pytest.raises(PlaybookError, match="Cannot use the Chroma server"):
            retrieve_passages(QUESTION, Settings(**values, chroma_token="wrong"))
    finally:
        proxy.close()


def test_server_down_is_one_sentence_and_restart_recovers(tmp_path: Path, content: Path) -> None:
    """A replica outlives a Chroma restart: clear error while it is down, answers once it is up."""
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    port = _closed_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(Path(sys.executable).parent / "chroma"), "run", "--path", str(tmp_path / "db"),
               "--host", "127.0.0.1", "--port", str(port)]

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2).read()
                return proc
            except OSError:
                time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
        raise RuntimeError("chroma run did not start")

    def stop(proc: subprocess.Popen[bytes]) -> None:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)

    settings = Settings(content_dir=content, index_dir=tmp_path / "i", chroma_url=url,
                        chroma_prefix="restart")
    proc = start()
    try:
        run(settings)
        assert retrieve_passages(QUESTION, settings)[0].first.article_id == "building-trust"
        stop(proc)
        with pytest.raises(PlaybookError, match="Cannot use the Chroma server"):
            retrieve_passages(QUESTION, settings)
        proc = start()
        assert retrieve_passages(QUESTION, settings)[0].first.article_id == "building-trust"
    finally:
        if proc.poll() is None:
            stop(proc)


def test_index_of_the_older_layout_is_read_then_moved_once(
    tmp_path: Path, content: Path, chroma_server: str
) -> None:
    """An index written by the one-collection-per-generation layout still answers, and the next
    ingest moves it into a versioned collection (then collects the old one)."""
    from rag.index.server import ServerStore
    from rag.index.server_writer import leftovers

    settings = Settings(content_dir=content, index_dir=tmp_path / "i", chroma_url=chroma_server,
                        chroma_prefix="t" + uuid.uuid4().hex[:10])
    first = run(settings)
    store = ServerStore(settings)
    _to_older_layout(store, first.generation)
    store = ServerStore(settings)  # no cached locations
    assert store.location(first.generation) == f"{settings.chroma_prefix}-{first.generation}"
    assert retrieve_passages(QUESTION, settings)[0].first.article_id == "building-trust"
    (content / "new.md").write_text("# Retros\n\nHold one every sprint. Keep it blameless.\n")
    report = run(settings)
    assert (report.added, report.unchanged, report.embedded) == (1, 3, 1)
    vectors, chunks = _ids(settings)
    assert vectors == chunks and len(chunks) == report.chunks
    assert "-v-" in store.location(report.generation) and leftovers(store) == []
    (content / "new.md").write_text("# Retros\n\nHold one every month.\n")
    run(settings)  # the older layout's collection is no longer kept for readers in flight
    assert [n for n in store.collections() if "-gen-" in n] == []


def _to_older_layout(store: object, generation: str) -> None:
    """Rewrite a generation as the older layout had it: its own collection, chunk ids as ids,
    a manifest record without `collection`."""
    from rag.index.server import ServerStore

    assert isinstance(store, ServerStore)
    view = store.view(generation)
    got = view.collection.get(ids=view.records(),
                              include=["documents", "metadatas", "embeddings"])
    older = store.client.create_collection(f"{store.prefix}-{generation}",
                                           embedding_function=None,
                                           metadata={"hnsw:space": "cosine"})
    keys = ("article_id", "source", "position")
    older.add(ids=[i.rsplit("@", 1)[0] for i in got["ids"]], documents=got["documents"],
              embeddings=got["embeddings"],
              metadatas=[{k: m[k] for k in keys} for m in got["metadatas"]])
    meta = store.meta()
    record = meta.get(ids=[f"manifest:{generation}"], include=["documents"])
    meta.delete(ids=record["ids"])  # re-added without `collection` (upsert merges metadata)
    meta.add(ids=record["ids"], documents=record["documents"], embeddings=[[1.0]],
             metadatas=[{"kind": "manifest"}])
    store.client.delete_collection(view.collection.name)


def test_a_generation_never_sees_another_ones_versions(
    tmp_path: Path, content: Path, chroma_server: str
) -> None:
    """After an edit the collection holds two versions of most of an article's chunks, with
    nearly the same vectors: each generation's searches return its own, once each, whether the
    over-fetch suffices or the filtered fallback runs."""
    from rag.embedder import encode_texts, make_embedder
    from rag.index.chroma_search import ChromaSearch
    from rag.index.server import ServerStore
    from rag.index.server_view import SLACK

    settings = Settings(content_dir=content, index_dir=tmp_path / "i", chroma_url=chroma_server,
                        chroma_prefix="t" + uuid.uuid4().hex[:10])
    first = run(settings)
    path = content / "building-trust.md"
    path.write_text(path.read_text() + "\n\nAsk what they need before you offer anything.\n")
    second = run(settings)
    store = ServerStore(settings)
    live = load_index(settings).chunks
    article = [c for c in live.values() if c.article_id == "building-trust"]
    assert len(article) >= 3
    vector = encode_texts(make_embedder(settings), [article[0].embed_text])[0].tolist()
    for generation in (first.generation, second.generation):
        ids = sorted(c.id for c in store.chunks(generation))
        search = store.search(generation, ids, exact=False)
        assert isinstance(search, ChromaSearch) and search.collection.hidden >= len(article)
        top = search.top(vector, len(ids))  # every chunk: the hidden versions are all near
        assert sorted(i for i, _ in top) == ids  # each chunk once, none of the other generation
        forced = store.view(generation)
        forced.hidden = -SLACK  # ask for exactly k: other versions take places, the filter runs
        again = dict(ChromaSearch(forced).top(vector, len(ids)))
        assert again == {i: pytest.approx(s, abs=1e-5) for i, s in top}
        sims = search.similarities(vector, [i for i, _ in top[:5]])
        assert sims == {i: pytest.approx(s, abs=1e-5) for i, s in top[:5]}


def test_sentence_kind_is_recorded_only_where_sentence_vectors_are_kept(
    mode_settings: Settings,
) -> None:
    """A Chroma server keeps no sentence table: its manifest says `exact` whatever
    PLAYBOOK_SENTENCE_VECTORS is, so switching the setting never re-embeds it; the embedded
    store records `late` and rebuilds when the setting goes back."""
    late = mode_settings.model_copy(update={"sentence_vectors": "late"})
    first = run(late)
    store = open_store(late)
    generation = store.current()
    assert generation is not None
    kind = store.manifest(generation).sentence_vectors
    server = mode_settings.chroma_url is not None
    assert kind == ("exact" if server else "late")
    switched = run(mode_settings)
    assert switched.embedded == (0 if server else first.chunks)
