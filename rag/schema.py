"""The JSON contracts, defined once as pydantic models.

`AnswerModel` is the `playbook ask --json` object (DESIGN.md). The CLI, the REST API, the MCP
tools and the Gradio `ask` endpoint all produce it through `Answer.to_json()` /
`Answer.to_json_text()`, so they agree byte for byte. The other models are the shapes of the
search, article and health doors (REST and MCP share them). Field order is the order on the wire.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    """Strict models: an unknown field is a bug in the producer, not data to pass along."""

    model_config = ConfigDict(extra="forbid")


class CitationModel(_Model):
    """A numbered passage shown under an answer; `[n]` in the answer points at it."""

    n: int = Field(description="The number used as [n] in the answer.")
    article_id: str = Field(description="Id of the article the passage comes from.")
    title: str = Field(description="The article's title.")
    heading: str = Field(description="Heading path of the passage (the title above any heading).")
    text: str = Field(description="The passage text.")
    source: str = Field(description="The article's path relative to the content folder.")
    score: float = Field(description="Cosine similarity of the passage to the question.")
    anchor: str = Field(description="GitHub-style anchor of the passage's heading.")
    start_line: int = Field(description="First line of the passage in the file (1-based).")
    end_line: int = Field(description="Last line of the passage in the file.")
    chunk_ids: list[str] = Field(description="Index chunks the passage is made of.")
    spans: list[tuple[int, int]] = Field(
        description="Character ranges [start, end) in `text` of the sentences cited."
    )
    url: str = Field(description="`source#anchor`: the article at the passage's heading.")
    owner: str = Field("", description="The article's owner (front matter), empty if none.")
    updated: str = Field(
        "", description="Date (YYYY-MM-DD) the article was last reviewed or committed, if known."
    )
    stale: bool = Field(False, description="True when the article is past its review date.")


class SentenceModel(_Model):
    """One sentence of the answer with the citations it carries and the verification result."""

    text: str
    citations: list[int] = Field(description="The [n] this sentence cites.")
    verified: bool = Field(description="Every citation was checked to support the sentence.")
    dropped: bool = Field(description="Generated but not shown: no passage supports it.")
    reattributed: bool = Field(description="Its citation was moved to the supporting passage.")


class AnswerModel(_Model):
    """The verified answer: the `playbook ask --json` object."""

    question: str = Field(description="The question as received (cleaned).")
    answer: str = Field(description="The answer text; every claim ends with [n] citations.")
    refused: bool = Field(description="True when the playbook does not cover the question.")
    answerer: str = Field(description="extractive, local or openai.")
    citations: list[CitationModel]
    timings_ms: dict[str, float] = Field(
        description="retrieve, generate, total (and first_token when a model streamed)."
    )
    query: str = Field(description="What was searched (differs from the question for follow-ups).")
    sentences: list[SentenceModel]
    notice: str = Field(description="A note for the reader, e.g. that the model was unreachable.")
    model: str = Field(
        "", description="The language model that wrote the answer; empty for extractive answers."
    )

    def dumps(self) -> str:
        """The one serialisation every door prints (that of `playbook ask --json`)."""
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False)


class PassageModel(_Model):
    """A retrieved passage (search results: no answer, no verification)."""

    rank: int = Field(description="1 for the best passage.")
    article_id: str
    title: str
    heading: str
    text: str
    source: str
    url: str
    score: float = Field(description="Cosine similarity to the query (0 for BM25-only search).")
    start_line: int
    end_line: int
    chunk_ids: list[str]


class SearchModel(_Model):
    """The passages retrieved for a query."""

    query: str
    passages: list[PassageModel]


class SectionModel(_Model):
    """One section of an article: its heading path and the text under it."""

    heading: str = Field(description="Heading path as shown to readers.")
    heading_path: list[str] = Field(description="Headings from the top of the article down.")
    level: int = Field(description="Depth of the heading (0 above the first heading).")
    anchor: str
    url: str
    start_line: int
    end_line: int
    text: str


class HeadingModel(_Model):
    """An entry of an article's table of contents."""

    level: int = Field(description="Depth in the article's heading tree (1 = outermost).")
    text: str
    anchor: str = Field(description="GitHub-style anchor, as in the citations' urls.")


class ArticleModel(_Model):
    """An article as indexed: its sections, in reading order."""

    id: str
    title: str
    source: str
    metadata: dict[str, Any] = Field(description="Front-matter keys other than id and title.")
    headings: list[HeadingModel] = Field(description="Table of contents, in reading order.")
    sections: list[SectionModel]


class HealthModel(_Model):
    """What the server answers from."""

    status: str = Field(description="'ok' when the index can be read.")
    generation: str = Field(description="The live index generation.")
    created: str = Field(description="When that generation was built (ISO 8601).")
    articles: int
    chunks: int
    answerer: str = Field(description="The default answerer of this server.")
    answerers: list[str] = Field(description="Answerers that can be chosen with `llm`.")
    embed_model: str


class ErrorModel(_Model):
    """Every error of the REST API: one sentence."""

    error: str
