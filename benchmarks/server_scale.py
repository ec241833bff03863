"""What server mode costs as the index grows: writes N chunks (SciFact abstracts as text, random
unit vectors: embedding cost is measured elsewhere) to a real `chroma run` through the real
ServerStore code, then times what a replica and an ingest do.

    .venv/bin/python -m benchmarks.server_scale --chunks 20000

Prints, per N: first load of a generation on a replica (fetch every chunk + build BM25), one
dense query, one BM25 query, the copy an incremental ingest makes of the live generation, and
the commit (id check + manifest + pointer flip). All processes started here, killed by pid.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from benchmarks.load_test import start_chroma, stop

SCIFACT = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "scifact"


def _texts(n: int) -> list[tuple[str, str]]:
    """(title, text) pairs: SciFact abstracts, repeated to reach n."""
    rows = []
    with open(SCIFACT / "corpus.jsonl", encoding="utf-8") as lines:
        for line in lines:
            doc = json.loads(line)
            rows.append((doc["title"] or "untitled", doc["text"][:1200]))
    return [rows[i % len(rows)] for i in range(n)]


def _chunks(n: int, per_article: int = 10) -> list:  # noqa: ANN401
    from rag.chunk import Chunk

    out = []
    for i, (title, text) in enumerate(_texts(n)):
        article = f"a{i // per_article:06d}"
        out.append(Chunk(
            id=f"{article}#s#{i % per_article}", article_id=article, title=title,
            source=f"{article}.md", heading_path=(title,), anchor="s",
            position=i % per_article, section=0, start_line=1, end_line=2, text=text,
        ))
    return out


def measure(url: str, n: int) -> dict[str, float]:
    """Build a generation of n chunks and time the replica and ingest operations on it."""
    from rag.index import IndexReader
    from rag.index.manifest import Manifest
    from rag.index.server import ServerStore
    from rag.settings import Settings

    base = Path(tempfile.mkdtemp())
    settings = Settings(index_dir=base, chroma_url=url, chroma_prefix=f"scale{n}")
    store = ServerStore(settings)
    chunks = _chunks(n)
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(n, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    articles: dict[str, dict] = {}
    for c in chunks:
        entry = articles.setdefault(c.article_id, {"hash": "h", "source": c.source,
                                                   "title": c.title, "chunks": []})
        entry["chunks"].append(c.id)
    manifest = Manifest("all-MiniLM-L6-v2", 256, 32,
                        datetime.now(UTC).isoformat(timespec="seconds"), articles)
    figures: dict[str, float] = {"chunks": n}
    t = time.perf_counter()
    writer = store.writer(None)
    writer.add(chunks, vectors.tolist())
    figures["write_s"] = time.perf_counter() - t
    t = time.perf_counter()
    generation = writer.commit(manifest, chunks, None)
    figures["commit_s"] = time.perf_counter() - t

    t = time.perf_counter()
    reader = IndexReader(store, generation)
    figures["replica_fetch_chunks_s"] = time.perf_counter() - t
    t = time.perf_counter()
    reader.bm25.search("warm", 1)
    figures["replica_build_bm25_s"] = time.perf_counter() - t
    query = vectors[0].tolist()
    reader.dense(query, 30)
    t = time.perf_counter()
    for _ in range(20):
        reader.dense(query, 30)
    figures["dense_query_ms"] = (time.perf_counter() - t) / 20 * 1000
    t = time.perf_counter()
    for _ in range(20):
        reader.bm25.search("vitamin D deficiency risk in elderly patients", 30)
    figures["bm25_query_ms"] = (time.perf_counter() - t) / 20 * 1000

    t = time.perf_counter()
    copy = store.writer(generation)  # what an incremental ingest does first
    figures["ingest_copy_live_s"] = time.perf_counter() - t
    copy.abort()
    store.drop(keep=set())
    shutil.rmtree(base, ignore_errors=True)
    return {k: round(v, 2) for k, v in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description="Server-mode costs by index size.")
    parser.add_argument("--chunks", type=int, nargs="+", default=[5000, 20000])
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="playbook-scale-"))
    proc, url = start_chroma(folder)
    try:
        for n in args.chunks:
            print(json.dumps(measure(url, n)), flush=True)
    finally:
        stop(proc)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
