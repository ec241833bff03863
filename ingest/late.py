"""Late chunking: each chunk's sentence vectors pooled from the chunk's own model pass.

With PLAYBOOK_SENTENCE_VECTORS=late, ingest runs the model once per chunk on the token graph
(`OnnxEmbedder.token_states`): its pooled output is the chunk's vector (the same as `encode`),
and each citable unit of the chunk (`rag.text.units`, the texts the sentence table keys) gets
the mean of the last hidden state over the word pieces inside its character span, L2-normalised
as the model's own pooling is. One forward pass instead of two (the units are ~0.9 x the chunk
tokens on 18f-handbook). The vectors carry the chunk's context (the heading path, the overlap,
the neighbouring sentences), so they differ from encoding the unit alone.

A unit the model's sequence limit cut (its span ends after the last word piece the model saw)
or that no word piece covers is encoded on its own (`encode`), as with `exact`; `fallback`
counts them. A text found in several chunks (the overlap) keeps the first chunk's vector: the
table holds one vector per distinct text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.embedder_onnx import pool
from rag.text import units

if TYPE_CHECKING:
    from rag.chunk import Chunk

# Texts per model run for the cut units: they range from a few words to ~200 tokens, and big
# length-sorted batches pad them all to the longest (18f: 3.2 s CPU for 118 of them at 64 a run,
# 1.9 s at 4).
ALONE_BATCH = 4


class LateEncoder:
    """Encodes chunks for `ingest.pipeline.embed_chunks` and keeps their units' vectors.

    `vectors` (text -> float16 unit vector) holds the pooled units, `pending` the texts to encode
    on their own (`finish`), `fallback` how many units went that way."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.vectors: dict[str, np.ndarray] = {}
        self.pending: dict[str, None] = {}  # ordered set
        self.fallback = 0

    def __call__(self, chunks: Sequence[Chunk]) -> np.ndarray:
        """The chunks' vectors (one pass); their units' vectors are kept on the side."""
        pooled, states = self.model.token_states([c.embed_text for c in chunks])
        for chunk, state in zip(chunks, states, strict=True):
            offset = len(chunk.embed_text) - len(chunk.text)  # the text closes embed_text
            for unit in units(chunk.text):
                if unit.text in self.vectors:
                    continue
                vector = pool(state, offset + unit.start, offset + unit.end)
                if vector is None:
                    self.pending[unit.text] = None
                else:
                    self.vectors[unit.text] = vector.astype(np.float16)
                    self.pending.pop(unit.text, None)
        return pooled

    def finish(self) -> dict[str, np.ndarray]:
        """Every unit's vector: the pooled ones and, encoded now, the cut ones."""
        rest = [t for t in self.pending if t not in self.vectors]
        self.fallback += len(rest)
        if rest:
            vectors = self.model.encode(rest, batch_size=ALONE_BATCH)
            for text, row in zip(rest, vectors, strict=True):
                self.vectors[text] = row.astype(np.float16)
        self.pending.clear()
        return self.vectors
