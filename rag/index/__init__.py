"""The index layer: where generations live and how the live one is read.

- `backend`: the protocols (`Store`, `Writer`, `DenseSearch`) and the STORES registry.
- `embedded` + `embedded_writer` + `folders`: generations as folders on disk (the default).
- `server`: generations as collections on a Chroma server (PLAYBOOK_CHROMA_URL).
- `vectors` / `chroma_search`: dense search on a vector matrix / a Chroma collection.
- `bm25`: the keyword index; `manifest`: what a generation holds; `reader`: `load_index`.

Nothing outside this package touches Chroma.
"""

from rag.index.backend import open_store
from rag.index.reader import IndexReader, load_index

__all__ = ["IndexReader", "load_index", "open_store"]
