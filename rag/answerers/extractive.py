"""The extractive answerer: no language model; quotes the best passage."""

from __future__ import annotations

from rag.answer import Answer, Citation, Sentence
from rag.retrieve import Passage
from rag.settings import Settings


class ExtractiveAnswerer:
    """Quotes the opening of the top passage with its citation."""

    name = "extractive"

    def answer(self, question: str, passages: list[Passage], settings: Settings,
               on_token=None) -> Answer:  # noqa: ANN001
        citations = [Citation.from_passage(i + 1, p) for i, p in enumerate(passages)]
        if not passages:
            return Answer(question, "The playbook does not cover this.", True, self.name, [], {})
        text = passages[0].first.text.strip()
        sentence = Sentence(text=text, citations=[1], verified=True)
        citations[0].spans = [(0, len(text))]
        return Answer(question, f"{text} [1]", False, self.name, citations, {},
                      sentences=[sentence])
