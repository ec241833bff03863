"""The chunk: a passage of one article, the unit of retrieval and citation."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Chunk:
    """A passage of one article, the unit of retrieval and citation."""

    id: str  # article_id#heading-slug#n
    article_id: str
    title: str
    source: str
    heading_path: tuple[str, ...]
    anchor: str  # GitHub-style anchor of the section heading ("" for the top of the article)
    position: int  # order of the chunk in its article
    section: int  # order of the section in its article
    start_line: int  # 1-based, in the file (front matter counted)
    end_line: int
    text: str
    context: str = ""  # overlap carried from the previous chunk; embedded, not shown
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def heading(self) -> str:
        """Heading path as shown to users (without a top heading that repeats the title); the
        title when the chunk sits above any heading."""
        path = self.heading_path
        if path and path[0] == self.title:
            path = path[1:]
        return " > ".join(path) if path else self.title

    @property
    def embed_text(self) -> str:
        """What the embedding model and BM25 see: title, heading path, overlap, then the text."""
        head = " > ".join((self.title, *self.heading_path))
        parts = [head, self.context, self.text] if self.context else [head, self.text]
        return "\n".join(parts)
