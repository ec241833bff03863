"""Encoding the chunks' sentences at ingest, for stores that keep them (rag/index/sentences.py).

With late chunking (PLAYBOOK_SENTENCE_VECTORS=late) the vectors come from the chunk pass
(ingest/late.py) and are only handed over here. Only sentences the base generation's table
lacks are encoded: an incremental ingest encodes the
changed articles' sentences, and the first ingest after an upgrade (a base without a table)
encodes every chunk's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.index import sentences

if TYPE_CHECKING:
    from rag.chunk import Chunk
    from rag.settings import Settings

BLOCK = 4096  # sentences per model call (bounds the memory of one block of vectors)


def embed_sentences(
    settings: Settings, writer: Any, chunks: list[Chunk], new_chunks: list[Chunk],
    known: dict[str, np.ndarray] | None = None,
) -> int:
    """Encode the sentences of `chunks` that the base table lacks and hand them to the writer
    (when it keeps sentence vectors); returns how many were handed over. `known` holds vectors
    made already (late chunking, ingest/late.py): those are handed over as they are."""
    if not hasattr(writer, "add_sentences"):
        return 0
    from rag.embedder import make_embedder

    base = writer.base_sentences()
    source = new_chunks if base is not None else chunks
    texts = sentences.texts_of(c.text for c in source)
    if base is not None:
        texts = [t for t in texts if base.row(t) is None]
    known = known or {}
    have = [t for t in texts if t in known]
    rest = [t for t in texts if t not in known]
    _hand_over(writer, have, lambda block: np.stack([known[t] for t in block]))
    if rest:
        _hand_over(writer, rest, make_embedder(settings).encode)
    return len(have) + len(rest)


def _hand_over(writer: Any, texts: list[str], vectors_of: Callable[[list[str]], Any]) -> None:
    """Give the writer `texts` and their vectors, BLOCK at a time."""
    for start in range(0, len(texts), BLOCK):
        block = texts[start : start + BLOCK]
        writer.add_sentences(block, vectors_of(block))
