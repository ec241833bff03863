"""Exact dense search over a generation's vectors, kept as one float32 matrix on disk.

Each embedded generation stores `vectors.npy` beside `chunks.jsonl`, one unit-length row per chunk
in the same order. Searching it is one matrix-vector product: exact (no approximate-index misses),
~1 ms per 10k chunks, and opening it costs a memory map instead of importing chromadb (~1.7 s of a
cold `playbook ask`). Chroma still holds every vector (it is what server mode queries, and
`PLAYBOOK_DENSE_SEARCH=chroma` uses its HNSW index for the embedded store too).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

FILE = "vectors.npy"


def as_matrix(vectors: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """Rows as a C-contiguous float32 matrix (an empty input gives shape (0, 0) or (0, dim))."""
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.size == 0:
        return np.zeros((0, matrix.shape[1] if matrix.ndim == 2 else 0), np.float32)
    return np.ascontiguousarray(matrix)


def save(folder: Path, matrix: np.ndarray) -> None:
    """Write the matrix as `folder/vectors.npy` (the generation folder is not live yet)."""
    tmp = folder / f"{FILE}.tmp-{os.getpid()}"
    with open(tmp, "wb") as handle:
        np.save(handle, as_matrix(matrix), allow_pickle=False)
    os.replace(tmp, folder / FILE)


def check(matrix: np.ndarray, block: int = 8192) -> None:
    """Raise ValueError unless every row is finite with a non-zero norm.

    A vectors.npy overwritten with zeros or NaN would otherwise score every passage 0 (or NaN)
    and refuse every question without saying why. Read in blocks: the file is memory-mapped."""
    if matrix.ndim != 2:
        raise ValueError(f"{FILE} is not a matrix (shape {matrix.shape})")
    for start in range(0, matrix.shape[0], block):
        part = np.asarray(matrix[start : start + block], dtype=np.float64)
        norms = np.sqrt(np.einsum("ij,ij->i", part, part))
        bad = np.flatnonzero(~np.isfinite(norms) | (norms < 1e-6))
        if len(bad):
            row = start + int(bad[0])
            what = "a zero vector" if np.isfinite(norms[bad[0]]) else "non-finite values"
            raise ValueError(f"{FILE} row {row} holds {what}")


def rows(folder: Path) -> int | None:
    """Row count of `folder/vectors.npy` (header only), None when the file is absent."""
    path = folder / FILE
    if not path.is_file():
        return None
    return int(np.load(path, mmap_mode="r", allow_pickle=False).shape[0])


class VectorMatrix:
    """The vectors of one generation, memory-mapped, with the chunk id of every row."""

    def __init__(self, ids: list[str], matrix: np.ndarray) -> None:
        if matrix.ndim != 2 or matrix.shape[0] != len(ids):
            raise ValueError(f"{FILE} has {matrix.shape[0]} rows for {len(ids)} chunks")
        self.ids = ids
        self.matrix = matrix
        self._row = {cid: i for i, cid in enumerate(ids)}

    @classmethod
    def open(cls, folder: Path, ids: list[str]) -> VectorMatrix | None:
        """The generation's matrix, or None when it was built without one (older indexes)."""
        path = folder / FILE
        if not path.is_file():
            return None
        matrix = np.load(path, mmap_mode="r", allow_pickle=False)
        check(matrix)
        return cls(ids, matrix)

    def top(self, vector: Sequence[float], k: int) -> list[tuple[str, float]]:
        """The k rows most similar to `vector` (cosine), best first, as (chunk id, similarity)."""
        k = min(k, len(self.ids))
        if k <= 0:
            return []
        # einsum, not `@`: a matrix-vector product is memory-bound, and BLAS's threads, when
        # another process holds a core, wait a scheduler tick (8 ms measured at 10k chunks).
        sims = np.einsum("ij,j->i", self.matrix, _unit(vector))
        best = np.argpartition(-sims, k - 1)[:k] if k < len(sims) else np.arange(len(sims))
        best = best[np.lexsort((best, -sims[best]))]  # by similarity, ties by row
        return [(self.ids[i], float(sims[i])) for i in best]

    def similarities(self, vector: Sequence[float], ids: Sequence[str]) -> dict[str, float]:
        """Cosine similarity of `vector` to the given chunks (unknown ids are left out)."""
        known = [cid for cid in ids if cid in self._row]
        if not known:
            return {}
        sims = self.matrix[[self._row[cid] for cid in known]] @ _unit(vector)
        return {cid: float(s) for cid, s in zip(known, sims, strict=True)}


def _unit(vector: Sequence[float]) -> np.ndarray:
    query = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(query))
    return query / norm if norm > 0 else query
