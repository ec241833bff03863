"""The citation checker's records: its thresholds, what it measured, and its verdict.

`Thresholds` carries the support_* settings (calibrated on the dev split of
evals/datasets/support.jsonl); `ClauseFacts` / `Analysis` what `rag.support.analyse` measured of
a claim against a passage (no threshold applied); `Support` the verdict
`rag.support_judge.judge` gives.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rag import alignment
from rag.settings import Settings


@dataclass(frozen=True)
class Thresholds:
    """The checker's knobs; defaults are the Settings field defaults (calibrated on dev)."""

    score: float
    embed_weight: float
    clause: float
    clause_terms: int
    drift_cover: float
    duplicate: float
    model: str = "rules"  # "rules" (hand-set) or "learned" (rag/support_model.py)
    learned: float = 0.5  # P(supported) a claim needs under the learned model
    clause_vectors: bool = False  # embed clauses on their own (always under the learned model)
    # under the learned model, the sentence score (as the rules compute it) a claim needs too
    floor: float = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        """The thresholds a Settings object carries (environment overrides included)."""
        return cls(settings.support_threshold, settings.support_embed_weight,
                   settings.support_clause_threshold, settings.support_clause_terms,
                   settings.support_drift_cover, settings.support_duplicate,
                   settings.support_model, settings.support_learned_threshold,
                   settings.support_clause_vectors, settings.support_learned_floor)

    @property
    def own_clause_vectors(self) -> bool:
        """Whether each clause of a long sentence gets its own MiniLM vector."""
        return self.clause_vectors or self.model == "learned"

    @property
    def limit(self) -> float:
        """The score a supported claim reaches: P(supported) or the rules' score threshold."""
        return self.learned if self.model == "learned" else self.score


DEFAULTS = Thresholds.from_settings(Settings.model_construct())
SUPPORT_THRESHOLD = DEFAULTS.limit  # kept for callers that pass a bare threshold


@dataclass
class Support:
    """How well a passage supports a claim."""

    # P(supported) (learned model; 0 when the sentence score is below the floor, whose claims
    # the model does not measure), or w x similarity + (1 - w) x lexical (rules)
    score: float
    # best cosine similarity claim vs one passage sentence; NaN (and so `score`) when a veto
    # rejected the claim before it was embedded (`support_score(lazy=True)`)
    similarity: float
    lexical: float  # fraction of the claim's content words present in the passage
    span: tuple[int, int] | None  # characters of the best-supporting passage sentence
    # why it fails: filler, negation, antonym, comparison, swap, substitution, number, name,
    # novel, drift, weak; "" when it holds (`ok` then depends on the score threshold only)
    reason: str = ""
    clause: str = ""  # the failing clause
    novel: list[str] = field(default_factory=list)  # content words the passage never uses
    vetoed: bool = False  # a rule failed: no threshold makes the claim supported

    def ok(self, threshold: float) -> bool:
        """Supported: no rule failed and the score reaches the threshold."""
        return not self.vetoed and self.score >= threshold




@dataclass
class ClauseFacts:
    """What the checker measured for one clause against one passage (thresholds not applied)."""

    text: str
    similarity: float  # best MiniLM cosine to one passage sentence
    terms: int  # distinct content words
    novel: list[str]  # content words the passage never uses
    pairs: float  # share of adjacent word pairs never near each other in the passage
    rule: str  # a failed rule: negation, antonym, comparison, number, name; "" when none

    def cover(self) -> float:
        """Share of the clause's content words found in the passage."""
        return 1 - len(self.novel) / self.terms if self.terms else 0.0


@dataclass
class Analysis:
    """Every clause of a claim measured against a passage, and the sentence as a whole."""

    clauses: list[ClauseFacts]
    similarity: float
    lexical: float
    span: tuple[int, int] | None
    filler: bool
    rule: str = ""  # a sentence-level veto: negation, antonym, comparison, swap, substitution,
    # number
    diff: alignment.Diff = field(default_factory=lambda: alignment.Diff(0.0, False, False, 0))
    novel: int = 0  # content words of the sentence the passage never uses
    pairs: float = 0.0  # share of the sentence's word pairs never near each other there
    # soft word alignment with the passage (rag/token_align.py; {} when not measured)
    tokens: dict[str, float] = field(default_factory=dict)
    # False when a veto rejected the claim before it was embedded (`analyse(lazy=True)`): the
    # cosines are NaN and `clauses` stops at the vetoed clause
    measured: bool = True
    # the claim is a word-for-word run of the passage (`rag.support.copies_span`): supported as
    # written, unless a veto rejects it
    copy: bool = False
