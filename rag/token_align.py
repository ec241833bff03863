"""Soft token alignment of a claim with its cited passage (BERTScore-style recall of the claim).

MiniLM's contextual word-piece vectors (the ONNX graph's last hidden state, before mean pooling:
`OnnxEmbedder.token_vectors`) of the claim and of each passage sentence. Each content word of the
claim takes its best cosine to any word piece of the passage (a word's pieces averaged): a word the
passage says in other words still aligns (in context, "resist" lands near "push back"), an
invented word or a drifted tail does not. Read off, as the learned checker's inputs:

- tok_mean, tok_low, tok_min: mean, 25th percentile and minimum of those cosines over the claim;
- tok_run: the weakest run of three consecutive content words (an invented tail or clause);
- win_mean, win_run: the same mean and weakest run against the best window of two adjacent
  passage sentences only (a changed fact or a drifted tail often reuses words found elsewhere in
  the passage, which the whole passage would lend it);
- clause_min: the lowest mean over the claim's clauses (located in the claim by their text).

Vectors are cached per text (passages meet every sentence of an answer). Embedders without
per-token vectors (the torch and hashed runtimes) get no features: the learned checker then
falls back to its model without them (rag/support_model.py).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np

from rag.text import STOPWORDS

if TYPE_CHECKING:
    from rag.embedder_onnx import TokenStates

RUN = 3  # content words in a "run" (tok_run, win_run)
NAMES = ("tok_mean", "tok_low", "tok_min", "tok_run", "win_mean", "win_run", "clause_min")
NEUTRAL = dict.fromkeys(NAMES, 1.0)
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")
_Tokens = tuple[np.ndarray, np.ndarray]  # (word vectors: rows, word spans: (n, 2) int)
V = TypeVar("V")


class _Bounded(Generic[V]):
    """Values per (embedder, text), the oldest forgotten past `size`, thread-safe."""

    def __init__(self, size: int) -> None:
        self._items: OrderedDict[tuple[int, str], V] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def _found(self, key: int, texts: Sequence[str]) -> dict[str, V]:
        """The cached values among `texts`."""
        with self._lock:
            return {t: self._items[(key, t)] for t in texts if (key, t) in self._items}

    def _store(self, key: int, values: dict[str, V]) -> None:
        """Add entries, forgetting the oldest past the size bound."""
        with self._lock:
            for text, value in values.items():
                self._items[(key, text)] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (benchmarks time the cold path with this)."""
        with self._lock:
            self._items.clear()


class _Cache(_Bounded[_Tokens]):
    """Vectors per (embedder, text) as `shape` keeps them; the misses are encoded in one
    call."""

    def __init__(self, shape: Callable[[str, np.ndarray, Sequence[tuple[int, int]]], _Tokens],
                 size: int = 4096) -> None:
        super().__init__(size)
        self._shape = shape

    def get(self, texts: Sequence[str], embedder: Any) -> list[_Tokens]:
        """The vectors of `texts`, encoding those not cached."""
        key = id(embedder)
        found = self._found(key, texts)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            for text, pieces in zip(missing, embedder.token_vectors(missing), strict=True):
                found[text] = self._shape(text, *pieces)
            self._store(key, {text: found[text] for text in missing})
        return [found[t] for t in texts]

    def put(self, text: str, embedder: Any, vectors: np.ndarray,
            spans: Sequence[tuple[int, int]]) -> None:
        """Cache the word-piece vectors (unit rows) of `text` a run of `embedder` gave."""
        self._store(id(embedder), {text: self._shape(text, vectors, spans)})


def _words(text: str, vectors: np.ndarray, spans: Sequence[tuple[int, int]]) -> _Tokens:
    """One unit vector per content word of `text` (the mean of its word pieces' vectors)."""
    rows, found = [], []
    for match in _WORD.finditer(text):
        word = match.group().lower()
        if word in STOPWORDS or len(word) < 2:
            continue
        inside = [i for i, (a, b) in enumerate(spans) if a < match.end() and b > match.start()]
        if inside:
            mean = vectors[inside].mean(axis=0)
            rows.append(mean / max(float(np.linalg.norm(mean)), 1e-9))
            found.append(match.span())
    if not rows:
        return np.zeros((0, 1), dtype=np.float32), np.zeros((0, 2), dtype=np.int64)
    return np.asarray(rows, dtype=np.float32), np.asarray(found, dtype=np.int64)


def _every_piece(text: str, vectors: np.ndarray, spans: Sequence[tuple[int, int]]) -> _Tokens:
    """Every word piece's vector (passage side, function words included: a claim's content
    word may be said there by a phrase of them)."""
    return vectors, np.asarray(spans, dtype=np.int64).reshape(-1, 2)


CLAIMS = _Cache(_words)  # claims: content words
PASSAGES = _Cache(_every_piece)  # passage sentences: word pieces


class _Runs(_Bounded[tuple["TokenStates", dict[str, Any]]]):
    """The last hidden state of each claim's run of the token graph and the clause vectors
    pooled from it so far, per (embedder, claim text). A run is read within the `verify` call
    that made it, so a few answers' worth is kept: 256 runs of a ~25-token claim hold ~10 MB
    of hidden states (1024 held ~40 MB in a long-running server); an evicted claim is simply
    run again."""

    def __init__(self, size: int = 256) -> None:
        super().__init__(size)

    def get(self, text: str, embedder: Any) -> tuple[TokenStates, dict[str, Any]] | None:
        """The run of `text` and its pooled clauses (a dict the caller fills), None if unseen."""
        return self._found(id(embedder), [text]).get(text)

    def put(self, text: str, embedder: Any, states: TokenStates) -> None:
        """Keep a run of `text`, forgetting the oldest past the size bound."""
        self._store(id(embedder), {text: (states, {})})


RUNS = _Runs()  # claims' runs: their clauses' vectors are pooled from them


def encode_claims(texts: Sequence[str], embedder: Any) -> None:
    """Sentence vectors of claims (into `rag.vector_cache.VECTORS`), their word vectors
    (`CLAIMS`) and their runs (`RUNS`, for `clause_vectors`) from one run of the token graph,
    whose pooled output is the sentence vector `encode` gives (the learned checker needs all
    three of a claim); a plain `encode` for an embedder without per-token vectors. Texts
    already cached or in a sentence table are not run (their word and clause vectors are
    computed when first asked for)."""
    from rag.vector_cache import VECTORS

    if not hasattr(embedder, "token_states"):
        VECTORS.encode(list(texts), embedder)
        return
    VECTORS.encode(list(texts), embedder, embed=lambda missing: _run_claims(missing, embedder))


def _run_claims(texts: list[str], embedder: Any) -> np.ndarray:
    """One run of the token graph over claims: their word vectors and runs kept, their
    sentence vectors returned (normalised as `encode`'s are)."""
    from rag.embedder import unit_rows

    pooled, states = embedder.token_states(texts)
    for text, state in zip(texts, states, strict=True):
        CLAIMS.put(text, embedder, unit_rows(state.hidden), state.spans)
        RUNS.put(text, embedder, state)
    return unit_rows(np.asarray(pooled, dtype=np.float32))


def clause_vectors(claim: str, clauses: Sequence[str], embedder: Any) -> np.ndarray | None:
    """Unit vectors of the clauses of `claim` (rows), each pooled from the claim's own run of
    the token graph over the word pieces inside the clause (`rag.embedder_onnx.pool`, as late
    chunking pools a chunk's sentences): no model input of their own, where encoding each
    clause alone was a third of the learned checker's model time. A clause not found in the
    claim (`_locate`) or cut by the sequence limit is encoded alone. None for an embedder
    without per-token vectors (the clauses are then encoded alone by the caller)."""
    from rag.embedder_onnx import pool
    from rag.vector_cache import VECTORS

    if not hasattr(embedder, "token_states"):
        return None
    if (run := RUNS.get(claim, embedder)) is None:
        _run_claims([claim], embedder)  # the claim's vector came from elsewhere: run it now
        run = RUNS.get(claim, embedder)
        assert run is not None
    states, pooled = run
    for clause in clauses:
        if clause not in pooled:
            span = _locate(claim, clause)
            pooled[clause] = pool(states, *span) if span else None
    alone = [c for c in clauses if pooled[c] is None]
    own = dict(zip(alone, VECTORS.encode(alone, embedder), strict=True)) if alone else {}
    return np.stack([own[c] if pooled[c] is None else pooled[c] for c in clauses])


def _locate(claim: str, clause: str) -> tuple[int, int] | None:
    """The character span of `clause` in `claim`: verbatim, else its words in order with only
    spaces and punctuation between them (`rag.claims.clauses` drops the commas and semicolons
    between a clause's words); None when not found."""
    start = claim.find(clause)
    if start >= 0:
        return start, start + len(clause)
    found = re.search(r"\W+".join(map(re.escape, clause.split())), claim) if clause.strip() \
        else None
    return found.span() if found else None


def prefetch(sentences: Sequence[str], embedder: Any) -> None:
    """Compute and cache the word-piece vectors of passage sentences (a generative answer's
    passages are known before the model writes: rag/answerers/generative.py runs this beside
    the model, so that checking the draft embeds only its own sentences). Nothing without
    per-token vectors."""
    if hasattr(embedder, "token_vectors") and sentences:
        PASSAGES.get(list(dict.fromkeys(sentences)), embedder)


def _run(scores: np.ndarray, width: int = RUN) -> float:
    """The lowest mean of `width` consecutive scores (the mean when there are fewer)."""
    if len(scores) <= width:
        return float(scores.mean())
    sums = np.convolve(scores, np.ones(width), mode="valid") / width
    return float(sums.min())


def features(claim: str, sentences: Sequence[str], embedder: Any,
             clauses: Sequence[str] = ()) -> dict[str, float]:
    """The alignment features of `claim` against the passage sentences `sentences`: {} when the
    embedder has no per-token vectors, NEUTRAL when there is nothing to align."""
    if not hasattr(embedder, "token_vectors"):
        return {}
    if not sentences:
        return dict(NEUTRAL)
    (mine, spans), = CLAIMS.get([claim], embedder)
    if not len(mine):
        return dict(NEUTRAL)
    theirs = [v for v, _ in PASSAGES.get(list(sentences), embedder)]
    # best cosine of each claim word within each passage sentence: (words, sentences)
    best = np.stack([(mine @ v.T).max(axis=1) if len(v) else np.zeros(len(mine), np.float32)
                     for v in theirs], axis=1)
    whole = best.max(axis=1)
    pairs = np.maximum(best[:, :-1], best[:, 1:]) if best.shape[1] > 1 else best
    window = pairs[:, int(pairs.mean(axis=0).argmax())]
    return {
        "tok_mean": float(whole.mean()), "tok_low": float(np.quantile(whole, 0.25)),
        "tok_min": float(whole.min()), "tok_run": _run(whole),
        "win_mean": float(window.mean()), "win_run": _run(window),
        "clause_min": _clause_min(claim, clauses, spans, whole),
    }


def word_scores(text: str, sentences: Sequence[str], embedder: Any
                ) -> tuple[list[str], np.ndarray] | None:
    """Each content word of `text` (grouped as a claim's are) with its best cosine to any word
    piece of `sentences`: None when the embedder has no per-token vectors, no words when there
    is nothing to align. The refusal's alignment evidence reads these (rag/answer_align.py)."""
    if not hasattr(embedder, "token_vectors"):
        return None
    (mine, spans), = CLAIMS.get([text], embedder)
    theirs = [v for v, _ in PASSAGES.get(list(sentences), embedder) if len(v)]
    if not len(mine) or not theirs:
        return [], np.zeros(0, dtype=np.float32)
    best = (mine @ np.vstack(theirs).T).max(axis=1)
    return [text[a:b] for a, b in spans], best


def _clause_min(claim: str, clauses: Sequence[str], spans: np.ndarray,
                whole: np.ndarray) -> float:
    """The lowest mean alignment over the clauses found in the claim (the claim's mean when
    none is found there verbatim)."""
    means = []
    for clause in clauses:
        start = claim.find(clause)
        if start < 0:
            continue
        inside = (spans[:, 0] >= start) & (spans[:, 1] <= start + len(clause))
        if inside.any():
            means.append(float(whole[inside].mean()))
    return min(means, default=float(whole.mean()))
