"""The Answer returned by `rag.ask`, and its JSON form (the `playbook ask --json` contract,
defined once as `rag.schema.AnswerModel`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from rag.retrieve import Passage
from rag.schema import AnswerModel, CitationModel, SentenceModel

Turn = tuple[str, str]  # one exchange of a conversation: (user question, assistant answer)


@dataclass
class Citation:
    """A numbered passage shown under an answer."""

    n: int
    article_id: str
    title: str
    heading: str
    text: str
    source: str  # path relative to the content dir
    score: float
    anchor: str
    start_line: int
    end_line: int
    chunk_ids: list[str] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)  # cited character spans in text
    owner: str = ""  # from the article's front matter (rag/freshness.py)
    updated: str = ""  # ISO date of the last review or commit, "" when unknown
    stale: bool = False  # past its review date

    @property
    def url(self) -> str:
        """Link to the article at the passage's heading."""
        return f"{self.source}#{self.anchor}" if self.anchor else self.source

    @classmethod
    def from_passage(cls, n: int, passage: Passage) -> Citation:
        first = passage.first
        return cls(
            n=n,
            article_id=first.article_id,
            title=first.title,
            heading=first.heading,
            text=passage.text,
            source=first.source,
            score=round(passage.score, 4),
            anchor=first.anchor,
            start_line=first.start_line,
            end_line=passage.chunks[-1].end_line,
            chunk_ids=passage.chunk_ids,
        )


@dataclass
class Sentence:
    """One sentence of an answer, the citations it carries and whether they were verified."""

    text: str
    citations: list[int]
    verified: bool
    dropped: bool = False  # generated but not shown: no retrieved passage supports it
    reattributed: bool = False  # its citation was moved to the passage that supports it


@dataclass
class Answer:
    """What `rag.ask` returns."""

    question: str
    answer: str
    refused: bool
    answerer: str
    citations: list[Citation]
    timings_ms: dict[str, float]
    query: str = ""  # the query actually searched (differs from the question for follow-ups)
    sentences: list[Sentence] = field(default_factory=list)
    notice: str = ""  # e.g. "the LLM server did not answer; showing the extractive answer"
    model: str = ""  # the language model that wrote the answer ("" = none: extractive)

    def schema(self) -> AnswerModel:
        """The answer as the shared pydantic model (rag/schema.py)."""
        return AnswerModel(
            question=self.question,
            answer=self.answer,
            refused=self.refused,
            answerer=self.answerer,
            citations=[CitationModel(**asdict(c), url=c.url) for c in self.citations],
            timings_ms={k: round(v, 2) for k, v in self.timings_ms.items()},
            query=self.query,
            sentences=[SentenceModel(**asdict(s)) for s in self.sentences],
            notice=self.notice,
            model=self.model,
        )

    def to_json(self) -> dict[str, object]:
        """The `playbook ask --json` object (rag/schema.py; README, Commands)."""
        return dict(self.schema().model_dump(mode="json"))

    def to_json_text(self) -> str:
        """`to_json()` serialised exactly as every door (CLI, REST, MCP) sends it."""
        return self.schema().dumps()
