"""Dense search through a Chroma collection (server mode, or PLAYBOOK_DENSE_SEARCH=chroma).

It answers the same two questions as `rag.index.vectors.VectorMatrix`, so the reader never
touches a Chroma collection itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ChromaSearch:
    """Nearest chunks and chunk similarities from one generation's Chroma collection."""

    def __init__(self, collection: Any) -> None:
        self.collection = collection

    def top(self, vector: Sequence[float], k: int) -> list[tuple[str, float]]:
        """The k nearest chunks by cosine similarity, as (chunk id, similarity)."""
        result = self.collection.query(
            query_embeddings=[list(vector)], n_results=k, include=["distances"]
        )
        ids, distances = result["ids"][0], result["distances"][0]
        return [(i, 1.0 - float(d)) for i, d in zip(ids, distances, strict=True)]

    def similarities(self, vector: Sequence[float], ids: Sequence[str]) -> dict[str, float]:
        """Cosine similarity of the query to specific chunks (for BM25-only hits)."""
        import numpy as np

        got = self.collection.get(ids=list(ids), include=["embeddings"])
        query = np.asarray(vector, dtype=np.float32)
        sims = np.asarray(got["embeddings"], dtype=np.float32) @ query
        return {i: float(s) for i, s in zip(got["ids"], sims, strict=True)}
