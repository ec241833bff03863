"""Building the next embedded generation in a temporary folder and publishing it atomically.

See rag/index/embedded.py for the layout. The writer copies the live generation's Chroma
folder, applies the ingest's deletions and additions, then `commit` writes chunks.jsonl,
vectors.npy, BM25 and the manifest, fsyncs everything, renames the folder into place and flips
CURRENT last.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.chunk import Chunk
from rag.errors import PlaybookError
from rag.index import sentences, vectors
from rag.index.backend import crash_point_for_tests
from rag.index.folders import GEN_PATTERN, close_chroma, get_collection, open_chroma, pointer
from rag.index.manifest import Manifest, damaged

if TYPE_CHECKING:
    from rag.index.bm25 import BM25

NEW_SENTENCES = "sentences.new.bin"  # scratch file of the writer, removed before commit
WRITE_BATCH = 2000  # chunks per Chroma write (bounds the memory of the converted vectors)


class GenerationWriter:
    """Builds the next generation in a temporary folder; `commit` publishes it atomically."""

    def __init__(self, index_dir: Path, base: Path | None) -> None:
        self.index_dir = index_dir
        self.base = base
        _remove_leftovers(index_dir)
        number = _next_number(index_dir)
        self.name = f"gen-{number:06d}"
        self.folder = index_dir / f"{self.name}.tmp-{os.getpid()}"
        if base is not None:
            shutil.copytree(base / "chroma", self.folder / "chroma")
        else:
            (self.folder / "chroma").mkdir(parents=True)
        self._client = open_chroma(self.folder / "chroma")
        self._collection = get_collection(self._client, create=True)
        self._added: list[tuple[list[str], np.ndarray]] = []  # (chunk ids, their vectors)
        # sentence vectors encoded by this ingest: text -> row of NEW_SENTENCES (float16)
        self._new_sentences: dict[str, int] = {}
        self._sentence_dim = 0
        self._sentence_rows = 0
        self._keep_sentences = True

    def drop_sentences(self) -> None:
        """Write no sentence table (PLAYBOOK_SENTENCE_VECTORS=ask): the base's is not carried
        over, so no table can lack the new chunks' sentences."""
        self._keep_sentences = False

    def remove(self, chunk_ids: list[str]) -> None:
        """Delete chunks (of changed or removed articles) from the vector store."""
        for start in range(0, len(chunk_ids), 5000):
            self._collection.delete(ids=chunk_ids[start : start + 5000])

    def add(self, chunks: list[Chunk], embeddings: np.ndarray) -> None:
        """Add chunks with their embeddings to the generation's Chroma collection: the id, the
        vector and the chunk's article, source and position.

        The text is not stored in Chroma: chunks.jsonl holds every chunk (the one place readers,
        BM25 and the next ingest take it from), and Chroma's full-text index of documents was
        two thirds of the write (18f: 1.7 of 2.4 s). Written with chromadb's `add` as the server
        store does; through LlamaIndex's ChromaVectorStore it also paid LlamaIndex's import and
        node objects nothing here reads (BENCHMARKS.md, 2026-12-02)."""
        matrix = vectors.as_matrix(embeddings)
        if len(matrix) != len(chunks):
            raise ValueError(f"{len(chunks)} chunks but {len(matrix)} vectors")
        try:  # never publish a generation that would refuse everything
            vectors.check(matrix)
        except ValueError as exc:
            raise PlaybookError(
                f"The embedding model returned unusable vectors ({exc}); the live index is "
                "unchanged."
            ) from exc
        for start in range(0, len(chunks), WRITE_BATCH):
            batch = chunks[start : start + WRITE_BATCH]
            self._collection.add(
                ids=[c.id for c in batch],
                embeddings=matrix[start : start + WRITE_BATCH],
                metadatas=[{"article_id": c.article_id, "source": c.source,
                            "position": c.position} for c in batch],
            )
        self._added.append(([c.id for c in chunks], matrix))

    def base_sentences(self) -> sentences.SentenceTable | None:
        """The base generation's sentence table (None: no base, or built before tables)."""
        if self.base is None:
            return None
        try:
            return sentences.SentenceTable.open(self.base)
        except (OSError, ValueError) as exc:
            raise damaged(self.index_dir, exc) from exc

    def add_sentences(self, texts: list[str], matrix: np.ndarray) -> None:
        """Keep the vectors of sentences this ingest encoded (appended to a scratch file, so
        a full build of a big corpus never holds them all in memory)."""
        if not texts:
            return
        if len(matrix) != len(texts):
            raise ValueError(f"{len(texts)} sentences but {len(matrix)} vectors")
        self._sentence_dim = matrix.shape[1]
        with open(self.folder / NEW_SENTENCES, "ab") as out:
            out.write(np.ascontiguousarray(matrix, dtype=np.float16).tobytes())
        for text in texts:
            self._new_sentences.setdefault(text, self._sentence_rows)
            self._sentence_rows += 1

    def commit(self, manifest: Manifest, chunks: list[Chunk], bm25: BM25 | None) -> str:
        """Write the metadata files, then rename the folder and flip CURRENT (atomic)."""
        assert bm25 is not None, "the embedded store saves BM25 with each generation"
        matrix = self._matrix([c.id for c in chunks])
        close_chroma(self._client)
        self._write_sentences(chunks)
        with open(self.folder / "chunks.jsonl", "w", encoding="utf-8") as out:
            for chunk in chunks:
                out.write(json.dumps(asdict(chunk), ensure_ascii=False) + "\n")
        vectors.save(self.folder, matrix)
        del matrix
        bm25.save(self.folder)
        _write_json(self.folder / "manifest.json", asdict(manifest))
        _fsync_tree(self.folder)
        previous = pointer(self.index_dir)
        os.replace(self.folder, self.index_dir / self.name)
        crash_point_for_tests("mid-swap")
        _atomic_write(self.index_dir / "CURRENT", self.name + "\n")
        _remove_old_generations(self.index_dir, keep={self.name, previous or ""})
        return self.name

    def _write_sentences(self, chunks: list[Chunk]) -> None:
        """sentences.* for every chunk: this ingest's vectors, the rest from the base table.
        Skipped when the pipeline encoded none and the base has no table (nothing to add)."""
        base = self.base_sentences()
        if not self._keep_sentences or (not self._new_sentences and base is None):
            return
        scratch = self.folder / NEW_SENTENCES
        new = (np.memmap(scratch, dtype=np.float16, mode="r").reshape(-1, self._sentence_dim)
               if self._new_sentences else np.zeros((0, 0), np.float16))
        dim = self._sentence_dim or (base.vectors.shape[1] if base is not None else 0)

        def vectors_of(texts: list[str]) -> np.ndarray:
            old = base.lookup([t for t in texts if t not in self._new_sentences]) if base else {}
            out = np.empty((len(texts), dim), dtype=np.float32)
            for i, text in enumerate(texts):
                row = self._new_sentences.get(text)
                out[i] = new[row] if row is not None else old[text]
            return out

        try:
            sentences.write(self.folder, sentences.texts_of(c.text for c in chunks), vectors_of,
                            dim)
        except (KeyError, ValueError) as exc:  # a sentence with no vector: base table damaged
            raise damaged(self.index_dir, exc) from exc
        finally:
            new = np.zeros((0, 0), np.float16)  # release the memory map before unlinking
        scratch.unlink(missing_ok=True)

    def abort(self) -> None:
        """Throw the unfinished generation away."""
        close_chroma(self._client)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _matrix(self, ids: list[str]) -> np.ndarray:
        """Every chunk's vector in `ids` order: added ones, the rest from the base generation.

        Rows are copied straight into one matrix (a fresh build reuses the added block as is):
        at 100k chunks each extra copy would cost 150 MB of peak memory."""
        if len(self._added) == 1 and self._added[0][0] == ids:
            return self._added[0][1]
        added = {cid for block_ids, _ in self._added for cid in block_ids}
        kept = [cid for cid in ids if cid not in added]
        parts = [*self._added, (kept, self._base_vectors(kept))]
        dim = next((part.shape[1] for _, part in parts if len(part)), 0)
        matrix = np.empty((len(ids), dim), dtype=np.float32)
        row = {cid: i for i, cid in enumerate(ids)}
        for part_ids, part in parts:
            if part_ids:
                matrix[[row[cid] for cid in part_ids]] = part
        return matrix

    def _base_vectors(self, ids: list[str]) -> np.ndarray:
        """The base generation's vectors of `ids` (from its vectors.npy, else from Chroma)."""
        if not ids:
            return np.zeros((0, 0), dtype=np.float32)
        assert self.base is not None, "chunks kept from a base generation need one"
        base_ids = _chunk_ids(self.base)
        try:  # damaged vectors (NaN, zeros) must not be copied into the next generation
            matrix = vectors.VectorMatrix.open(self.base, base_ids)
        except (OSError, ValueError) as exc:
            raise damaged(self.index_dir, exc) from exc
        if matrix is not None:
            row = {cid: i for i, cid in enumerate(base_ids)}
            try:
                return np.asarray(matrix.matrix[[row[cid] for cid in ids]], dtype=np.float32)
            except KeyError as exc:
                raise damaged(self.index_dir, exc) from exc
        found: dict[str, Any] = {}  # built before vectors.npy existed: read them from Chroma
        for start in range(0, len(ids), 5000):
            got = self._collection.get(ids=ids[start : start + 5000], include=["embeddings"])
            found.update(zip(got["ids"], got["embeddings"], strict=True))
        if len(found) != len(ids):
            raise damaged(self.index_dir, KeyError("vectors missing from chroma"))
        return vectors.as_matrix([found[cid] for cid in ids])


def _chunk_ids(folder: Path) -> list[str]:
    """The chunk ids of a generation, in chunks.jsonl order (= vectors.npy row order)."""
    try:
        with open(folder / "chunks.jsonl", encoding="utf-8") as lines:
            return [json.loads(line)["id"] for line in lines]
    except (OSError, ValueError, KeyError) as exc:
        raise damaged(folder.parent, exc) from exc


def _next_number(index_dir: Path) -> int:
    numbers = [int(m.group(1)) for p in index_dir.iterdir() if (m := GEN_PATTERN.match(p.name))]
    return max(numbers, default=0) + 1


def _remove_leftovers(index_dir: Path) -> None:
    """Leftovers of a crashed ingest (we hold the lock, so none is in use): temporary folders
    and generations renamed into place after the live one that CURRENT never pointed to."""
    for path in index_dir.glob("gen-*.tmp-*"):
        shutil.rmtree(path, ignore_errors=True)
    live = GEN_PATTERN.match(pointer(index_dir) or "")
    if live:
        for path in index_dir.iterdir():
            match = GEN_PATTERN.match(path.name)
            if match and int(match.group(1)) > int(live.group(1)):
                shutil.rmtree(path, ignore_errors=True)


def _remove_old_generations(index_dir: Path, keep: set[str]) -> None:
    """Keep the live generation and the one before it (a reader may still be on it)."""
    for path in index_dir.iterdir():
        if GEN_PATTERN.match(path.name) and path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
