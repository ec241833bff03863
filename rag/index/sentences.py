"""Sentence vectors computed once at ingest: every citable unit of every chunk, memory-mapped.

The refusal check, the extractive answerer and the citation checker compare the question (or a
claim) with the sentences and list items of the retrieved passages. Encoding those at question
time was the largest cost of a first answer (~0.7-2 s cold), so each embedded generation keeps
them beside vectors.npy:

    sentences.npy      float16 unit vectors, one row per distinct text
    sentences.txt      the texts, UTF-8, one per line (units never contain a newline)
    sentences.idx.npy  (key, row, start, end) sorted by key: key = 64-bit hash of the text,
                       start/end = its byte span in sentences.txt (verified on every hit)

float16 halves the file (it grows with the corpus like vectors.npy); its rounding moves a
cosine by < 1e-3, well inside the noise of int8 vs fp32 vectors. The texts are exactly what the
callers encode: `passage_texts` uses `rag.text.units`, the splitter they use, so a lookup is an
exact string match and anything else (an index without the table, a claim) falls back to the
model. `rag.vector_cache.VECTORS.encode` consults the tables of the indexes opened in this
process, so callers need no change.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from rag.index.manifest import damaged
from rag.text import units

VECTORS_FILE = "sentences.npy"
TEXTS_FILE = "sentences.txt"
INDEX_FILE = "sentences.idx.npy"
FILES = (VECTORS_FILE, TEXTS_FILE, INDEX_FILE)
INDEX_DTYPE = np.dtype([("key", "<u8"), ("row", "<u4"), ("start", "<u8"), ("end", "<u8")])


def passage_texts(text: str) -> list[str]:
    """What the question-time steps encode for a passage: each unit's text (sentence or list
    item). Paragraphs are not stored joined: the extractive answerer scores a paragraph by the
    normalised mean of its sentences' vectors, and joined texts were 36 % of the tokens encoded
    here on 18f-handbook (a third of the sentence work of an ingest) for no reader."""
    return [u.text for u in units(text)]


def texts_of(chunk_texts: Iterable[str]) -> list[str]:
    """The distinct passage texts of many chunks, in first-seen order."""
    return list(dict.fromkeys(t for text in chunk_texts for t in passage_texts(text)))


def key(text: str) -> int:
    """A 64-bit hash of the text (stable across processes and machines)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def write(
    folder: Path, texts: Sequence[str], vectors_of: Callable[[list[str]], np.ndarray],
    dim: int, block: int = 8192,
) -> None:
    """Write the three files for `texts` (vectors `dim` wide), asking `vectors_of` for one
    block of rows at a time (the matrix is never whole in memory: ~1M rows at 100k chunks)."""
    tmp = folder / f"{VECTORS_FILE}.tmp"
    if texts:
        rows = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float16,
                                         shape=(len(texts), dim))
        for start in range(0, len(texts), block):
            part = vectors_of(list(texts[start : start + block]))
            if part.shape != (min(block, len(texts) - start), dim):
                raise ValueError(f"sentence vectors of shape {part.shape}")
            rows[start : start + block] = part
        rows.flush()
        del rows
    else:  # numpy cannot memory-map an empty file
        with open(tmp, "wb") as out:
            np.save(out, np.zeros((0, dim), np.float16), allow_pickle=False)
    encoded = [t.encode("utf-8") for t in texts]
    index = np.zeros(len(texts), dtype=INDEX_DTYPE)
    offset = 0
    for row, data in enumerate(encoded):
        index[row] = (key(texts[row]), row, offset, offset + len(data))
        offset += len(data) + 1
    index.sort(order="key")
    with open(folder / f"{TEXTS_FILE}.tmp", "wb") as out:
        out.write(b"\n".join(encoded))
    with open(folder / f"{INDEX_FILE}.tmp", "wb") as out:
        np.save(out, index, allow_pickle=False)
    for name in FILES:
        os.replace(folder / f"{name}.tmp", folder / name)


class SentenceTable:
    """One generation's sentence vectors, memory-mapped; `lookup` by exact text."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.vectors = np.load(folder / VECTORS_FILE, mmap_mode="r", allow_pickle=False)
        self.index = np.load(folder / INDEX_FILE, mmap_mode="r", allow_pickle=False)
        size = (folder / TEXTS_FILE).stat().st_size
        self._texts = np.memmap(folder / TEXTS_FILE, dtype=np.uint8, mode="r") if size else None
        if self.index.dtype != INDEX_DTYPE or self.vectors.ndim != 2:
            raise ValueError(f"{INDEX_FILE} or {VECTORS_FILE} has the wrong layout")
        if len(self.index) != len(self.vectors):
            raise ValueError(f"{VECTORS_FILE} does not match {INDEX_FILE}")
        if len(self.index) and int(self.index["end"].max()) != size:
            raise ValueError(f"{TEXTS_FILE} does not match {INDEX_FILE}")
        self.keys = self.index["key"]

    @classmethod
    def open(cls, folder: Path) -> SentenceTable | None:
        """The generation's table, None when it was built without one (older indexes).
        Raises OSError / ValueError when the files are there but damaged."""
        present = [(folder / name).is_file() for name in FILES]
        if not any(present):
            return None
        if not all(present):
            raise FileNotFoundError(FILES[present.index(False)])
        return cls(folder)

    def __len__(self) -> int:
        return len(self.index)

    def row(self, text: str) -> int | None:
        """The row holding `text`'s vector, None when the table does not have it."""
        if not len(self.keys):
            return None
        k = key(text)
        at = int(np.searchsorted(self.keys, k))
        data = text.encode("utf-8")
        while at < len(self.keys) and int(self.keys[at]) == k:  # hash collisions: compare text
            entry = self.index[at]
            start, end = int(entry["start"]), int(entry["end"])
            if self._texts is not None and bytes(self._texts[start:end]) == data:
                return int(entry["row"])
            at += 1
        return None

    def lookup(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Unit float32 vectors of the texts the table holds (others are left out).

        Rows are checked as they are read: a damaged file raises IndexCorruptError (one
        sentence naming the fix) instead of scoring a sentence against zeros or NaN."""
        try:
            return self._lookup(texts)
        except (OSError, ValueError) as exc:
            raise damaged(self.folder.parent, exc) from exc

    def _lookup(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        found = {t: r for t in dict.fromkeys(texts) if (r := self.row(t)) is not None}
        if not found:
            return {}
        matrix = np.asarray(self.vectors[sorted(found.values())], dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1)
        if not np.all(np.isfinite(norms)) or np.any(norms < 0.5):
            raise ValueError(f"{VECTORS_FILE} holds a zero or non-finite vector")
        matrix /= norms[:, None]
        position = {row: i for i, row in enumerate(sorted(found.values()))}
        return {t: matrix[position[r]] for t, r in found.items()}
