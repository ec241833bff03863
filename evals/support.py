"""The support checker the answer metrics use: the project's own, `rag.citations.supports`."""

from __future__ import annotations

from evals.metrics import SupportFn
from rag.settings import Settings


def project_support(settings: Settings) -> tuple[SupportFn, str]:
    """(support function, its name). Uses rag.citations with the index's embedder."""
    try:
        from rag.citations import supports
    except ImportError:  # the checker has not landed in this checkout: lexical stand-in
        return lexical_support, "lexical word overlap >= 0.7 (rag.citations missing)"
    from rag.embedder import make_embedder

    embedder = make_embedder(settings)

    def check(claim: str, passage: str) -> bool:
        return bool(supports(claim, passage, embedder=embedder))

    return check, "rag.citations.supports"


def lexical_support(claim: str, passage: str) -> bool:
    """Stand-in checker: at least 70% of the claim's content words occur in the passage."""
    from rag.index.bm25 import tokenize

    terms = set(tokenize(claim))
    return bool(terms) and len(terms & set(tokenize(passage))) / len(terms) >= 0.7
