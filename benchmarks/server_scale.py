"""What server mode costs as the index grows, end to end through `ingest.run` on a real
`chroma run` (started here on 127.0.0.1, killed by pid).

    .venv/bin/python -m benchmarks.server_scale --chunks 20000

Per N: writes a synthetic content folder of N/10 articles of 10 sections each (SciFact
abstracts as text, one chunk per section), then in one run times
  - a full ingest (every chunk written to the server),
  - an incremental ingest after one article changed (the figure issue 18 asks for; three
    times, another article each time, as the machine is shared),
  - an incremental ingest after 1 % of the articles changed,
  - what a replica does with the new generation: fetch its chunks, build BM25, dense queries.
Both ingests embed with the model-free `hashed` runtime, so the figures are the index's own
costs; the same run also times the real MiniLM (ONNX) embedding the changed article's chunks,
which an ingest with the default model adds on top.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks.processes import start_chroma, stop

SCIFACT = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "scifact"
SECTIONS = 10


def write_content(folder: Path, n_chunks: int) -> list[Path]:
    """N/10 Markdown articles of 10 short sections (one chunk each) from SciFact abstracts."""
    rows = []
    with open(SCIFACT / "corpus.jsonl", encoding="utf-8") as lines:
        for line in lines:
            doc = json.loads(line)
            rows.append((doc["title"] or "Untitled", " ".join(doc["text"].split()[:110])))
    paths = []
    for a in range(n_chunks // SECTIONS):
        parts = [f"---\nid: a{a:06d}\ntitle: Article {a}\n---\n\n# Article {a}\n"]
        for s in range(SECTIONS):
            title, text = rows[(a * SECTIONS + s) % len(rows)]
            parts.append(f"\n## {title[:60]}\n\n{text}\n")
        path = folder / f"a{a:06d}.md"
        path.write_text("".join(parts), encoding="utf-8")
        paths.append(path)
    return paths


def _timed(fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, round(time.perf_counter() - started, 2)


def _edit(path: Path, n: int) -> None:
    path.write_text(path.read_text(encoding="utf-8") + f"\nEdited once more ({n}).\n")


def measure(url: str, n: int) -> dict[str, object]:
    """Full and incremental ingests of n chunks, and a replica's load, on one server."""
    from ingest.pipeline import run
    from rag.index import load_index
    from rag.index.server import ServerStore
    from rag.settings import Settings

    base = Path(tempfile.mkdtemp(prefix="playbook-scale-content-"))
    (base / "content").mkdir()
    paths = write_content(base / "content", n)
    settings = Settings(content_dir=base / "content", index_dir=base / "index", chroma_url=url,
                        chroma_prefix=f"scale{n}", embed_runtime="hashed")
    figures: dict[str, object] = {"target_chunks": n, "load_avg_start": os.getloadavg()[0]}
    full, figures["full_ingest_s"] = _timed(run, settings)
    figures["chunks"] = full.chunks
    runs = []
    for attempt in range(3):  # the machine is shared: three tries, each a different article
        _edit(paths[len(paths) // 2 + attempt], 1)
        one, seconds = _timed(run, settings)
        assert (one.updated, one.embedded) == (1, SECTIONS), one
        runs.append(seconds)
    figures["incremental_1_article_s"] = runs
    figures["incremental_1_article_median_s"] = sorted(runs)[1]
    for path in paths[:: 100]:
        _edit(path, 2)
    many, figures["incremental_1pct_s"] = _timed(run, settings)
    figures["incremental_1pct_updated"] = many.updated
    figures.update(_replica(load_index, settings))
    figures["onnx_embed_changed_article_s"] = _embed_one(settings, paths[len(paths) // 2])
    figures["load_avg_end"] = os.getloadavg()[0]
    # Dropping a 20k-record collection can take longer than the 10 s default under load.
    store = ServerStore(settings.model_copy(update={"chroma_timeout": 120.0}))
    for name in [*store.collections(), f"{store.prefix}-meta"]:
        store.client.delete_collection(name)
    shutil.rmtree(base, ignore_errors=True)
    return figures


def _replica(load_index, settings) -> dict[str, float]:  # noqa: ANN001
    """A new process's first load of the live generation and its dense query time."""
    reader, load_s = _timed(load_index, settings)
    vector = [0.0] * 383 + [1.0]
    reader.dense(vector, 30)  # warm
    figures = {"replica_load_s": load_s, "hidden_versions": reader.search.collection.hidden,
               "dense_query_ms_p50": _p50_ms(reader.dense, vector)}
    # The same query as if no other versions were stored (k + 8 results, none dropped): what
    # the born/died scheme costs a query, measured in the same run.
    from rag.index.chroma_search import ChromaSearch

    bare = reader.store.view(reader.generation)
    figures["dense_query_one_version_ms_p50"] = _p50_ms(ChromaSearch(bare).top, vector)
    return figures


def _p50_ms(search, vector: list[float]) -> float:  # noqa: ANN001
    times = []
    for _ in range(21):
        started = time.perf_counter()
        search(vector, 30)
        times.append(time.perf_counter() - started)
    return round(sorted(times)[10] * 1000, 1)


def _embed_one(settings, path: Path) -> float:  # noqa: ANN001
    """Seconds the real MiniLM (ONNX) takes to embed one article's chunks (model loaded first)."""
    from ingest.chunker import chunk_article
    from ingest.pipeline import embed_chunks, load_articles
    from rag.embedder import count_tokens_factory

    real = settings.model_copy(update={"embed_runtime": "onnx"})
    articles, _ = load_articles(settings.content_path)
    article = next(a for a in articles if a.source == path.name)
    count = count_tokens_factory(real.embed_model)
    chunks = chunk_article(article, count, real.chunk_tokens, real.chunk_overlap)
    embed_chunks(real, chunks[:1])  # load the model outside the timing
    _, seconds = _timed(embed_chunks, real, chunks)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description="Server-mode ingest costs by index size.")
    parser.add_argument("--chunks", type=int, nargs="+", default=[20000])
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
