"""Citation checks: is a claim supported by the passage it cites?

Public API (the evaluation suite imports these for ALCE citation precision / recall):

- `supports(claim, passage, embedder=None) -> bool`: the yes/no decision used everywhere.
- `support_score(claim, passage, embedder=None) -> Support`: the score behind it, plus the span of
  the passage sentence that best supports the claim.
- `parse_answer(text) -> list[Claim]`: the sentences of an answer with the [n] numbers they carry.
- `verify(answer_text, passages, embedder=None) -> list[Checked]`: every sentence checked against
  the passage(s) it cites; unsupported citations re-attributed to a supporting passage or removed.

The score is local and deterministic: 0.5 x the best cosine similarity (MiniLM, the embedder the
index already loaded) between the claim and one sentence of the passage, plus 0.5 x the fraction
of the claim's content words found in the passage. `embedder=None` loads the bundled MiniLM.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rag.text import Unit, content_terms, overlap, plain, strip_citations, units

if TYPE_CHECKING:
    import numpy as np

# Threshold on support_score. Chosen on (claim, passage) pairs built from the passages retrieved
# for the cwe-playbook DEV questions (`python -m benchmarks.calibrate_answers --index <cwe>`):
# 271 supported pairs (a passage sentence with a fifth of its words dropped, vs its passage):
# median 0.95, 10th percentile 0.86; 271 unsupported pairs (the same sentence vs another
# article's passage retrieved for the same question): median 0.29, 90th percentile 0.50.
# 0.57 is the lowest threshold with precision >= 0.95 (recall 1.0); the F1-best, 0.72, fits these
# near-copies and would reject a model's honest paraphrases, so the lower one is used.
SUPPORT_THRESHOLD = 0.57
EMBED_WEIGHT = 0.5

_MARKERS = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_LEADING_MARKERS = re.compile(r"^(?:\s*\[\d+(?:\s*,\s*\d+)*\])+")


@dataclass
class Support:
    """How well a passage supports a claim."""

    score: float
    similarity: float  # best cosine similarity claim vs one passage sentence
    lexical: float  # fraction of the claim's content words present in the passage
    span: tuple[int, int] | None  # characters of the best-supporting passage sentence


@dataclass
class Claim:
    """One sentence (or list item) of an answer and the passage numbers it cites."""

    text: str  # without the [n] markers
    cited: list[int]
    list_item: bool = False


@dataclass
class Checked:
    """A claim after verification."""

    text: str
    cited: list[int]  # numbers the model wrote
    citations: list[int]  # numbers kept (supported), possibly re-attributed
    verified: bool
    reattributed: bool = False
    invalid: list[int] = field(default_factory=list)  # numbers matching no retrieved passage
    list_item: bool = False
    spans: dict[int, tuple[int, int]] = field(default_factory=dict)  # n -> span in passage n


class _VectorCache:
    """Unit-normalised embeddings of short texts, cached per process (bounded, thread-safe)."""

    def __init__(self, size: int = 50_000) -> None:
        self._items: OrderedDict[tuple[int, str], Any] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], embedder: Any) -> np.ndarray:
        import numpy as np

        key = id(embedder)
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if (key, t) not in self._items))
        if missing:
            vectors = _embed(missing, embedder)
            with self._lock:
                for text, vector in zip(missing, vectors, strict=True):
                    self._items[(key, text)] = vector
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
        with self._lock:
            return np.stack([self._items[(key, t)] for t in texts]) if texts else np.zeros((0, 1))


def _embed(texts: list[str], embedder: Any) -> np.ndarray:
    """Encode with the embedder's own batch encoder (ONNX or sentence-transformers) or its
    LlamaIndex API, normalised either way."""
    import numpy as np

    from rag.embedder import encode_texts

    model: Any = getattr(embedder, "_model", None)
    if not callable(getattr(embedder, "encode", None)) and hasattr(model, "encode"):
        return np.asarray(  # LlamaIndex's HuggingFaceEmbedding: its sentence-transformers model
            model.encode(texts, batch_size=64, normalize_embeddings=True,
                         convert_to_numpy=True, show_progress_bar=False),
            dtype=np.float32,
        )
    matrix = encode_texts(embedder, texts)
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-9)


VECTORS = _VectorCache()


def default_embedder() -> Any:
    """The bundled MiniLM (same cached instance `rag.embedder` gives the default settings)."""
    from rag.embedder import make_embedder
    from rag.settings import Settings

    return make_embedder(Settings.model_validate({}))


def support_score(claim: str, passage: str, embedder: Any = None) -> Support:
    """Support of `claim` by `passage`: 0.5 x best sentence similarity + 0.5 x word overlap."""
    claim = plain(strip_citations(claim))
    parts = units(passage) or [Unit(passage.strip(), 0, len(passage), False, 0)]
    embedder = embedder if embedder is not None else default_embedder()
    matrix = VECTORS.encode([claim, *(u.text for u in parts)], embedder)
    sims = matrix[1:] @ matrix[0]
    best = int(sims.argmax())
    similarity = float(sims[best])
    lexical = overlap(claim, passage)
    score = EMBED_WEIGHT * similarity + (1 - EMBED_WEIGHT) * lexical
    return Support(score, similarity, lexical, (parts[best].start, parts[best].end))


def supports(
    claim: str, passage: str, embedder: Any = None, threshold: float = SUPPORT_THRESHOLD
) -> bool:
    """True when `passage` supports `claim` (support_score at or above the threshold)."""
    return support_score(claim, passage, embedder).score >= threshold


def parse_answer(text: str) -> list[Claim]:
    """Sentences and list items of an answer with their [n] numbers (markers after a full stop
    belong to the sentence before them; every line is split on its own)."""
    claims: list[Claim] = []
    lines = (line for line in text.splitlines() if line.strip())  # a model's lines are units
    for unit in (u for line in lines for u in units(line)):
        body = unit.text
        lead = _LEADING_MARKERS.match(body)
        if lead and claims:
            claims[-1].cited.extend(_numbers(lead.group(0)))
            body = body[lead.end():]
        cited = _numbers(body)
        body = strip_citations(body)
        if body and re.search(r"\w", body):
            claims.append(Claim(body, cited, unit.list_item))
    for claim in claims:
        claim.cited = list(dict.fromkeys(claim.cited))
    return claims


def _numbers(text: str) -> list[int]:
    return [int(n) for group in _MARKERS.findall(text) for n in re.split(r"\s*,\s*", group)]


def verify(
    answer_text: str, passages: Sequence[str], embedder: Any = None,
    threshold: float = SUPPORT_THRESHOLD,
) -> list[Checked]:
    """Check every sentence of an answer against the passages (passage i is cited as [i+1])."""
    checked = []
    for claim in parse_answer(answer_text):
        valid = [n for n in claim.cited if 1 <= n <= len(passages)]
        invalid = [n for n in claim.cited if n not in valid]
        result = Checked(claim.text, claim.cited, [], False, invalid=invalid,
                         list_item=claim.list_item)
        if not content_terms(claim.text) or not passages:
            checked.append(result)
            continue
        scores = [support_score(claim.text, p, embedder) for p in passages]
        kept = [n for n in valid if scores[n - 1].score >= threshold]
        if not kept:
            best = max(range(len(passages)), key=lambda i: scores[i].score)
            if scores[best].score >= threshold:
                kept, result.reattributed = [best + 1], True
        result.citations = kept
        result.verified = bool(kept)
        result.spans = {n: s for n in kept if (s := scores[n - 1].span) is not None}
        checked.append(result)
    return checked
