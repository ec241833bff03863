"""`ingest.run(settings) -> IngestReport`: content folder -> articles -> chunks -> index.

Incremental (a content hash per article: unchanged articles are never re-embedded) and atomic
(changes land in a new index generation that replaces the old one in one rename).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ingest.articles import DEFAULT_MAX_ARTICLE_BYTES, Article, read_article
from ingest.chunker import chunk_article
from ingest.files import scan_content
from ingest.late import LateEncoder
from ingest.sentences import embed_sentences
from rag.chunk import Chunk
from rag.embedder import (
    count_tokens_factory,
    encode_texts,
    make_embedder,
    sentence_kind,
    vector_space,
)
from rag.errors import ContentError, PlaybookError
from rag.index.backend import Store, crash_point_for_tests, open_store
from rag.index.bm25 import BM25
from rag.index.manifest import Manifest
from rag.settings import Settings

Progress = Callable[[int, int], None]  # (done, total) chunks embedded


@dataclass
class IngestReport:
    """What an ingest did; `to_json()` is the `playbook ingest --json` contract."""

    articles: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    embedded: int = 0  # chunks embedded by this run
    sentences: int = 0  # passage sentences embedded by this run (stores that keep them)
    sentences_fallback: int = 0  # late: units the sequence limit cut, encoded on their own
    generation: str = ""

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data.pop("embedded")
        data.pop("sentences")
        data.pop("sentences_fallback")
        data.pop("generation")
        return data


def run(
    settings: Settings, *, strict: bool = False, rebuild: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    """Bring the index in line with the content folder. Raises PlaybookError on user errors."""
    started = time.perf_counter()
    articles, skipped = load_articles(
        settings.content_path, settings.max_article_bytes, settings.follow_external_symlinks
    )
    if strict and skipped:
        first = skipped[0]
        raise ContentError(
            first["path"],
            f"{first['error']} (--strict: {len(skipped)} bad file(s), index left untouched)",
        )
    store = open_store(settings)
    with store.lock():
        base = None if rebuild else _compatible_base(store, settings)
        old = store.manifest(base) if base else None
        report = _apply(settings, store, articles, skipped, base, old, progress)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def load_articles(
    content_dir: Path, max_bytes: int = DEFAULT_MAX_ARTICLE_BYTES, follow_external: bool = False
) -> tuple[list[Article], list[dict[str, str]]]:
    """Parse every Markdown file; bad ones (and refused paths) are returned as skipped with
    their reason."""
    if not content_dir.is_dir():
        raise PlaybookError(f"Content folder {content_dir} does not exist.")
    content_dir = content_dir.resolve()
    files, skipped = scan_content(content_dir, follow_external)
    if not files:
        raise PlaybookError(f"No Markdown (.md) files found in {content_dir}.")
    articles: list[Article] = []
    owners: dict[str, str] = {}
    for path in files:
        try:
            article = read_article(path, content_dir, max_bytes)
        except ContentError as exc:
            skipped.append({"path": exc.path, "error": exc.reason})
            continue
        if article.id in owners:
            reason = f"has id '{article.id}', already used by {owners[article.id]}"
            skipped.append({"path": article.source, "error": reason})
            continue
        owners[article.id] = article.source
        articles.append(article)
    return articles, skipped


def _compatible_base(store: Store, settings: Settings) -> str | None:
    """The live generation if it was built with the same model and chunking, else None."""
    base = store.current()
    if base is None:
        return None
    old = store.manifest(base)
    store.verify(base, old)  # a damaged live index is reported, not silently built upon
    same = (old.embed_model, old.chunk_tokens, old.chunk_overlap, old.embed_int8,
            old.sentence_vectors) == (
        vector_space(settings), settings.chunk_tokens, settings.chunk_overlap, _int8(settings),
        _kind(settings, store),
    )
    return base if same else None


def _apply(
    settings: Settings, store: Store, articles: list[Article], skipped: list[dict[str, str]],
    base: str | None, old: Manifest | None, progress: Progress | None,
) -> IngestReport:
    old_articles = old.articles if old else {}
    kept = _kept_for_skipped(old_articles, skipped, {a.id for a in articles})
    changed = [a for a in articles if _entry(a) != _strip(old_articles.get(a.id))]
    current_ids = {a.id for a in articles} | set(kept)
    removed = [aid for aid in old_articles if aid not in current_ids]
    added = sum(1 for a in changed if a.id not in old_articles)
    report = IngestReport(
        articles=len(current_ids),
        added=added,
        updated=len(changed) - added,
        removed=len(removed),
        unchanged=len(articles) - len(changed) + len(kept),
        skipped=skipped,
    )
    if base is not None and old is not None and not changed and not removed \
            and not store.bm25_outdated(base) \
            and not _table_missing(settings, store, base):  # (else a new generation saves it)
        report.chunks = old.chunk_count
        report.generation = base
        return report

    count = count_tokens_factory(settings.embed_model)
    new_chunks = [
        c for a in changed
        for c in chunk_article(a, count, settings.chunk_tokens, settings.chunk_overlap)
    ]
    crash_point_for_tests("before-embed")
    vectors, known = _embed_new(settings, store, new_chunks, progress, report)
    drop_articles = set(removed) | {a.id for a in changed}
    drop_ids = [cid for aid in drop_articles for cid in old_articles.get(aid, {}).get("chunks", [])]

    writer = store.writer(base)
    try:
        writer.remove(drop_ids)
        writer.add(new_chunks, vectors)
        crash_point_for_tests("after-embed")
        old_chunks = store.chunks(base) if base else []
        chunks = [c for c in old_chunks if c.article_id not in drop_articles] + new_chunks
        if settings.sentence_vectors == "ask":  # no table: questions encode their sentences
            if hasattr(writer, "drop_sentences"):
                writer.drop_sentences()
        else:
            report.sentences = embed_sentences(settings, writer, chunks, new_chunks, known)
        bm25 = None
        if store.saves_bm25:
            bm25 = store.bm25(base, old_chunks) if base else BM25.empty()
            bm25 = bm25.updated(set(drop_ids), [c.id for c in new_chunks],
                                [c.embed_text for c in new_chunks])
        manifest = _manifest(settings, articles, new_chunks, old_articles, kept,
                             _kind(settings, store))
        report.generation = writer.commit(manifest, chunks, bm25)
    except BaseException:
        writer.abort()
        raise
    report.chunks = len(chunks)
    report.embedded = len(new_chunks)
    return report


def embed_chunks(
    settings: Settings, chunks: list[Chunk], progress: Progress | None = None,
    encode: Callable[[list[Chunk]], np.ndarray] | None = None,
) -> np.ndarray:
    """Embed chunk texts in batches, longest first (less padding), reporting progress;
    `encode` (a `LateEncoder`) replaces the model's `encode` of the texts.

    Returns one float32 row per chunk (1.5 KB each for MiniLM, not a list of Python floats)."""
    if not chunks:
        return np.zeros((0, 0), dtype=np.float32)
    model = make_embedder(settings)
    if encode is None:
        encode = lambda block: encode_texts(model, [c.embed_text for c in block])  # noqa: E731
    order = sorted(range(len(chunks)), key=lambda i: -len(chunks[i].embed_text))
    step = settings.embed_batch_size * 4
    result: np.ndarray | None = None
    for start in range(0, len(order), step):
        rows = order[start : start + step]
        block = encode([chunks[i] for i in rows])
        if result is None:
            result = np.empty((len(chunks), block.shape[1]), dtype=np.float32)
        result[rows] = block
        if start + step < len(order):
            crash_point_for_tests("mid-embed")
        if progress:
            progress(min(start + step, len(order)), len(order))
    assert result is not None
    return result


def _embed_new(
    settings: Settings, store: Store, chunks: list[Chunk], progress: Progress | None,
    report: IngestReport,
) -> tuple[np.ndarray, dict[str, np.ndarray] | None]:
    """The new chunks' vectors and, with late chunking, their units' vectors (the count of
    units encoded alone goes in `report`)."""
    late = _late_encoder(settings, store)
    vectors = embed_chunks(settings, chunks, progress, late)
    if late is None:
        return vectors, None
    known = late.finish()
    report.sentences_fallback = late.fallback
    return vectors, known


def _late_encoder(settings: Settings, store: Store) -> LateEncoder | None:
    """A `LateEncoder` when the settings ask for late sentence vectors, the store keeps
    sentence vectors and the embedder has per-token states (ONNX); else None."""
    if _kind(settings, store) != "late":
        return None
    model = make_embedder(settings)
    if not hasattr(model, "token_states"):  # the ONNX graph could not be exported here
        raise PlaybookError("PLAYBOOK_SENTENCE_VECTORS=late needs the ONNX embedding graph, "
                            "which cannot be exported here: set it to exact.")
    return LateEncoder(model)


def _table_missing(settings: Settings, store: Store, base: str) -> bool:
    """The settings want a sentence table and the live generation has none (built with
    PLAYBOOK_SENTENCE_VECTORS=ask, or before tables): a new generation makes it, re-embedding no
    chunk."""
    return settings.sentence_vectors != "ask" and hasattr(store, "sentences") \
        and store.sentences(base) is None


def _kind(settings: Settings, store: Store) -> str:
    """How this ingest makes sentence vectors (`sentence_kind`); 'exact' for stores that keep
    none (a Chroma server), so switching the setting never re-embeds those."""
    return sentence_kind(settings) if hasattr(store, "sentences") else "exact"


def _int8(settings: Settings) -> bool:
    """Whether the vectors come from the int8 graph (they differ slightly from fp32 ones)."""
    return settings.embed_runtime == "onnx" and settings.embed_int8


def _entry(article: Article) -> tuple[str, str, str]:
    return (article.content_hash, article.source, article.title)


def _strip(entry: dict | None) -> tuple[str, str, str] | None:
    return (entry["hash"], entry["source"], entry["title"]) if entry else None


def _kept_for_skipped(
    old_articles: dict[str, dict], skipped: list[dict[str, str]], live_ids: set[str]
) -> dict[str, dict]:
    """A file that turned bad keeps its last good version in the index: no data is lost."""
    bad_sources = {s["path"] for s in skipped}
    return {
        aid: entry for aid, entry in old_articles.items()
        if entry["source"] in bad_sources and aid not in live_ids
    }


def _manifest(
    settings: Settings, articles: list[Article], new_chunks: list[Chunk],
    old_articles: dict[str, dict], kept: dict[str, dict], kind: str,
) -> Manifest:
    by_article: dict[str, list[str]] = {}
    for chunk in new_chunks:
        by_article.setdefault(chunk.article_id, []).append(chunk.id)
    entries = dict(kept)
    for a in articles:
        chunks = by_article.get(a.id, old_articles.get(a.id, {}).get("chunks", []))
        entries[a.id] = {"hash": a.content_hash, "source": a.source, "title": a.title,
                         "chunks": chunks}
    return Manifest(
        embed_model=vector_space(settings),
        chunk_tokens=settings.chunk_tokens,
        chunk_overlap=settings.chunk_overlap,
        embed_int8=_int8(settings),
        sentence_vectors=kind,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        articles=entries,
    )
