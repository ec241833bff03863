"""What the programmatic doors (REST API, MCP server) offer besides `rag.api.ask`: passages for a
query, an article as indexed, and the state of the index. Each returns a model of rag/schema.py,
so both doors send the same JSON; errors are PlaybookErrors with one sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import get_args

from rag.answerers import TokenCallback
from rag.api import Turn, ask, clean_question, retrieve_passages
from rag.chunk import Chunk
from rag.errors import PlaybookError, QuestionError
from rag.schema import (
    AnswerModel,
    ArticleModel,
    HeadingModel,
    HealthModel,
    PassageModel,
    SearchModel,
    SectionModel,
)
from rag.settings import AnswererName, Settings

MAX_HISTORY = 20  # turns of conversation kept for a follow-up (older ones do not help rewriting)


class ArticleNotFoundError(PlaybookError):
    """No article with this id in the live index."""


def checked_question(question: str, settings: Settings) -> str:
    """The cleaned question; QuestionError when it is empty or longer than the limit.

    The CLI truncates long questions; a program sending 100 KB deserves to be told instead.
    """
    limit = settings.max_question_chars
    if len(question) > limit:
        raise QuestionError(
            f"The question is {len(question)} characters long; the limit is {limit}."
        )
    return clean_question(question, settings)


def answer(
    question: str, settings: Settings, history: Sequence[Turn] = (),
    on_token: TokenCallback | None = None,
) -> AnswerModel:
    """`rag.api.ask` for a program: validated question, the answer as the shared model."""
    checked_question(question, settings)
    turns = [(str(q), str(a)) for q, a in list(history)[-MAX_HISTORY:]]
    return ask(question, settings, history=turns, on_token=on_token).schema()


def search(query: str, settings: Settings, k: int | None = None) -> SearchModel:
    """The k best passages for a query (retrieval only: nothing is answered or verified)."""
    text = checked_question(query, settings)
    passages = retrieve_passages(text, settings, k=k)
    return SearchModel(
        query=text,
        passages=[
            PassageModel(
                rank=i, article_id=p.first.article_id, title=p.first.title,
                heading=p.first.heading, text=p.text, source=p.first.source,
                url=_url(p.first), score=round(p.score, 4), start_line=p.first.start_line,
                end_line=p.chunks[-1].end_line, chunk_ids=p.chunk_ids,
            )
            for i, p in enumerate(passages, start=1)
        ],
    )


def article(article_id: str, settings: Settings) -> ArticleModel:
    """The article with this id, as the live index holds it: sections under their headings."""
    from rag.index import load_index

    chunks = load_index(settings).by_article.get(article_id)
    if not chunks:
        raise ArticleNotFoundError(f"There is no article with id '{article_id}' in the playbook.")
    sections: dict[int, list[Chunk]] = {}
    for chunk in chunks:  # already in reading order
        sections.setdefault(chunk.section, []).append(chunk)
    first = chunks[0]
    models = [_section(group) for group in sections.values()]
    return ArticleModel(
        id=article_id, title=first.title, source=first.source, metadata=dict(first.metadata),
        headings=[
            HeadingModel(level=s.level, text=s.heading_path[-1], anchor=s.anchor)
            for s in models if s.heading_path
        ],
        sections=models,
    )


def _section(chunks: list[Chunk]) -> SectionModel:
    first = chunks[0]
    return SectionModel(
        heading=first.heading, heading_path=list(first.heading_path),
        level=len(first.heading_path), anchor=first.anchor, url=_url(first),
        start_line=first.start_line, end_line=chunks[-1].end_line,
        text="\n\n".join(c.text for c in chunks),
    )


def _url(chunk: Chunk) -> str:
    return f"{chunk.source}#{chunk.anchor}" if chunk.anchor else chunk.source


def health(settings: Settings) -> HealthModel:
    """The live generation and its size; IndexMissingError / IndexCorruptError when unusable."""
    from rag.index import load_index

    reader = load_index(settings)
    return HealthModel(
        status="ok", generation=reader.generation, created=reader.manifest.created,
        articles=len(reader.manifest.articles), chunks=len(reader.chunks),
        answerer=settings.llm, answerers=available_answerers(settings),
        embed_model=reader.manifest.embed_model,
    )


_NEEDS = {"extractive": (), "local": ("llama_cpp",), "openai": ("openai",)}  # packages per answerer


def available_answerers(settings: Settings) -> list[str]:
    """Answerers whose packages are installed here, the configured one first."""
    from importlib.util import find_spec

    names = [settings.llm] + [n for n in get_args(AnswererName) if n != settings.llm]
    return [n for n in names if all(find_spec(m) is not None for m in _NEEDS.get(n, ()))]
