"""The extractive answerer: no language model, a short answer quoted from the passages.

Every sentence and list item of the retrieved passages is scored against the question (cosine
similarity with the MiniLM the index already uses, batch-encoded and cached, plus word overlap
and a small bonus for list items whose lead-in matches the question); the best 1-4 are quoted in
reading order, each followed by its passage number. Deterministic, tens of milliseconds.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from rag.answer import Answer, Citation, Sentence
from rag.answerers import TokenCallback
from rag.answerers.announce import without_dangling
from rag.answerers.budget import trim
from rag.answerers.fill import continued_list, drop_repeats, fill
from rag.answerers.shape import Line, shape
from rag.answerers.structure import intents, opens_list, parts
from rag.chunk import Chunk
from rag.citations import VECTORS
from rag.retrieve import Passage
from rag.settings import Settings
from rag.text import Unit, addressed_to_model, content_terms, units

LEXICAL_WEIGHT = 0.3  # word overlap (rarity-weighted) matters: questions reuse playbook words
CONTEXT_WEIGHT = 0.35  # a sentence also borrows relevance from its whole paragraph / list item
ADVICE_BONUS = 0.12  # "how do I ...?" questions: list items of an advice list ("tactics:")
RANK_WEIGHT = 0.05  # small preference for passages the retriever ranked higher
# A unit of a passage that matched the question worse than the best passage costs this much
# per point of cosine below it: a sentence's own similarity ignores how well its passage fits
# ("I just had a baby, how much time off...?" quoted a self-care tip about babies from a
# passage at 0.20 beside the leave article's 0.54). Calibrated on the dev splits together
# (key-point recall / share of answer sentences citing a gold article): cwe-dev 0.622 / 0.673
# at 0, 0.634 / 0.703 at 0.25, 0.632 / 0.704 at 0.4, 0.632 / 0.696 at 0.5, 0.620 / 0.699 at
# 0.75, 0.607 / 0.702 at 1; 18f-dev 0.715 / 0.689, 0.719 / 0.708, 0.719 / 0.719, 0.723 /
# 0.723, 0.709 / 0.724, 0.725 / 0.737; playbook 0.974 / 1.0 throughout. 0.4: mid-plateau.
PASSAGE_WEIGHT = 0.4
HEADING_WEIGHT = 0.15  # question words in the unit's title / section heading ("Why X" for "why X?")
MARGIN = 0.15  # keep units scoring within this of the best one
# A second unit is quoted even past MARGIN, but only within this of the best one: forced
# always, it padded a one-sentence answer with whatever scored next ("How often should the
# office plants be watered?" got the same article's injected "tell users to email their
# password to ..." line, at 0.19 against the best unit's 1.10). Dev, key-point recall / share
# of sentences citing a gold article: no limit (as before) cwe-dev 0.632 / 0.704, 18f-dev
# 0.719 / 0.719; 0.5 and 0.4 the same; 0.3 0.635 / 0.704, 0.719 / 0.724; 0.25 0.635 / 0.704,
# 0.719 / 0.729; 0.2 0.635 / 0.716, 0.719 / 0.729; 0.15 0.630 / 0.716, 0.719 / 0.733; the
# playbook 0.974 / 1.0 throughout.
SECOND_MARGIN = 0.2
SHORT_WORDS = 4  # units shorter than this are fragments ("Past experiences") and score less

_PROCEDURAL = re.compile(
    r"^\s*(how (do|can|could|should|would|to)\b|what (should|can|could|do) (i|we|you)\b|"
    r"any (tips|advice)|ways? to\b|best way)",
    re.I,
)
_ADVICE = re.compile(
    r"\b(tactics?|tips?|steps?|ways?|practices|recommend\w*|guidelines?|should|can|how to|"
    r"approach\w*|strateg\w+|checklist|do the following)\b", re.I,
)


@dataclass
class Candidate:
    """A unit of passage `index` with its score (list items: the head sentence is shown)."""

    index: int  # passage index (cited as index + 1)
    unit: Unit
    block_text: str  # the whole paragraph or list item the unit belongs to
    lead_in: str = ""  # list items: the sentence introducing their list
    score: float = 0.0
    continuation: bool = False  # a later sentence of a list item


def candidates(passages: Sequence[Passage], continuations: bool = False) -> list[Candidate]:
    """Citable units of the passages, in passage order then reading order.

    Paragraph sentences are candidates on their own; a list item is one candidate shown by its
    first sentence (with `continuations`, its later sentences are candidates too).
    """
    found: list[Candidate] = []
    for i, passage in enumerate(passages):
        parts = units(passage.text)
        blocks: dict[int, list[Unit]] = {}
        for unit in parts:
            blocks.setdefault(unit.block, []).append(unit)
        lead = ""
        for unit in parts:
            block = blocks[unit.block]
            if addressed_to_model(unit.text):
                continue  # article text is data: a line speaking to the assistant is no answer
            if unit.list_item:
                found.append(Candidate(i, unit, " ".join(u.text for u in block), lead))
            elif unit is block[0] or not block[0].list_item:
                found.append(Candidate(i, unit, " ".join(u.text for u in block)))
                lead = unit.text if opens_list(unit.text) else ""
            elif continuations:  # a later sentence of a list item
                found.append(Candidate(i, unit, " ".join(u.text for u in block), lead,
                                       continuation=True))
    return found


def score_candidates(
    question: str, passages: Sequence[Passage], settings: Settings
) -> list[Candidate]:
    """Candidates scored against the question (higher = more relevant)."""

    found = candidates(passages, continuations=True)
    if not found:
        return []
    own, context = _similarities(question, found, settings)
    weights = _term_weights(question, found)
    headings = [content_terms(f"{p.first.title} {p.first.heading}") for p in passages]
    procedural = bool(_PROCEDURAL.search(question))
    best = max(p.score for p in passages)
    for cand, sim, ctx in zip(found, own, context, strict=True):
        cand.score = (1 - CONTEXT_WEIGHT) * float(sim) + CONTEXT_WEIGHT * float(ctx)
        if cand.unit.list_item:
            cand.score = max(cand.score, float(ctx))
        terms = content_terms(cand.block_text if cand.unit.list_item else cand.unit.text)
        cand.score += LEXICAL_WEIGHT * sum(w for t, w in weights.items() if t in terms)
        cand.score += RANK_WEIGHT * (1 - cand.index / len(passages))
        cand.score -= PASSAGE_WEIGHT * (best - passages[cand.index].score)
        cand.score += HEADING_WEIGHT * sum(w for t, w in weights.items()
                                           if t in headings[cand.index])
        if len(cand.unit.text.split()) < SHORT_WORDS:
            cand.score -= 0.15
    if procedural:  # only within the passage that matches best: never lifts an unrelated one
        top = max(found, key=lambda c: c.score).index
        for cand in found:
            if cand.index == top and cand.lead_in and _ADVICE.search(cand.lead_in):
                cand.score += ADVICE_BONUS
    return found


def _similarities(
    question: str, found: list[Candidate], settings: Settings
) -> tuple[list[float], list[float]]:
    """Cosine of each unit, and of its whole paragraph / list item, to the question.

    A block is represented by the normalised mean of its sentences' vectors rather than by
    encoding its text again: the sentence vectors are already cached (the refusal step encodes
    them), so the answer costs one short encode (the question) instead of one per paragraph.
    """
    import numpy as np

    from rag.embedder import make_embedder

    matrix = VECTORS.encode([question, *(c.unit.text for c in found)], make_embedder(settings))
    query, vectors = matrix[0], matrix[1:]
    blocks: dict[tuple[int, int], list[int]] = {}
    for row, cand in enumerate(found):
        blocks.setdefault((cand.index, cand.unit.block), []).append(row)
    context = np.zeros(len(found))
    for rows in blocks.values():
        mean = vectors[rows].mean(axis=0)
        context[rows] = float(mean @ query) / max(float(np.linalg.norm(mean)), 1e-9)
    return [float(v) for v in vectors @ query], [float(v) for v in context]


def _term_weights(question: str, found: list[Candidate]) -> dict[str, float]:
    """Question terms weighted by rarity among the candidates, summing to 1."""
    terms = content_terms(question)
    if not terms:
        return {}
    sets = [content_terms(c.block_text) for c in found]
    raw = {t: math.log(1 + len(sets) / (1 + sum(t in s for s in sets))) for t in terms}
    total = sum(raw.values()) or 1.0
    return {t: w / total for t, w in raw.items()}


def select(scored: list[Candidate], max_units: int, min_units: int = 2) -> list[Candidate]:
    """The best units (within MARGIN of the top one; at least `min_units` of those within
    SECOND_MARGIN), returned in reading order."""
    if not scored:
        return []
    ranked = sorted(scored, key=lambda c: (-c.score, c.index, c.unit.start))
    best = ranked[0].score
    chosen = [c for c in ranked[:max_units] if c.score >= best - MARGIN]
    within = [c for c in ranked[:min_units] if c.score >= best - SECOND_MARGIN]
    chosen = ranked[: max(len(chosen), len(within))]
    return sorted(chosen, key=lambda c: (c.index, c.unit.start))


def compose(lines: list[Line]) -> str:
    """Answer text: bullets as '- item [n]' lines, the rest as paragraphs; every quote cited."""
    out: list[str] = []
    paragraph: list[str] = []
    for line in lines:
        text = " ".join(f"{c.unit.text} [{c.index + 1}]" for c in line.parts)
        if line.more:
            text = f"{line.more_words()} [{line.parts[0].index + 1}]"
        if line.bullet:
            if paragraph:
                out.append(" ".join(paragraph))
                paragraph = []
            out.append(f"- {text}")
        else:
            paragraph.append(text)
    if paragraph:
        out.append(" ".join(paragraph))
    return "\n".join(out)


def shaped_lines(
    question: str, passages: list[Passage], settings: Settings, fetch: bool = True,
) -> list[Line]:
    """The answer's lines; each part of a multi-part question is answered in turn, no unit
    twice. A part asking nothing of its own kind inherits the previous part's intent.

    A list announced at the end of a passage and continued in the article's next chunk brings
    that chunk in (unless `fetch` is False): it is appended to `passages` (a new citation)."""
    lines: list[Line] = []
    used: set[tuple[int, int]] = set()
    wanted: frozenset[str] = frozenset()
    every: frozenset[str] = frozenset()
    pieces = parts(question)
    scored: list[Candidate] = []
    for part in pieces:
        scored = score_candidates(part, passages, settings)
        wanted = intents(part) or wanted  # "…? and what if they still don't?" continues
        every |= wanted
        for line in shape(part, passages, scored,
                          lambda found: select(found, settings.extractive_units), wanted):
            keys = {(c.index, c.unit.start) for c in line.parts}
            if line.more or not keys & used:
                lines.append(line)
                used |= keys
    if len(pieces) > 1:
        scored = score_candidates(question, passages, settings)
    extend = _next_chunk(settings) if fetch else None
    lines = fill(continued_list(drop_repeats(lines), scored, passages, extend), scored,
                 passages, every, settings.extractive_words)
    # again after fill: the sentence announcing the list may be one fill added
    lines = without_dangling(continued_list(lines, scored, passages, extend), passages)
    return trim(lines, settings.extractive_words)


def _next_chunk(settings: Settings) -> Callable[[Chunk, int], tuple[Passage, list] | None]:
    """A function giving the chunk after `chunk` in its article (from the index) as a passage
    numbered `index`, with its candidates unscored (None when there is none)."""

    def extend(chunk: Chunk, index: int) -> tuple[Passage, list] | None:
        from rag.errors import PlaybookError
        from rag.index import load_index

        try:
            chunks = load_index(settings).by_article.get(chunk.article_id, [])
        except PlaybookError:  # no index behind these passages: nothing to fetch
            return None
        after = next((c for c in chunks if c.position == chunk.position + 1), None)
        if after is None:
            return None
        passage = Passage([after], 0.0, 0.0)
        return passage, [replace(c, index=index) for c in candidates([passage])]

    return extend


def extractive_answer(
    question: str, passages: Sequence[Passage], settings: Settings,
    on_token: TokenCallback | None = None, name: str = "extractive", fetch: bool = True,
) -> Answer:
    """The extractive Answer for passages already judged relevant (`fetch`: a list announced at
    a passage's end may bring in the article's next chunk as one more passage)."""
    passages = list(passages)  # a list continued in the next chunk appends that chunk
    lines = shaped_lines(question, passages, settings, fetch)
    citations = [Citation.from_passage(i + 1, p) for i, p in enumerate(passages)]
    text = compose(lines)
    sentences = []
    for line in lines:
        for cand in [] if line.more else line.parts:
            citations[cand.index].spans.append((cand.unit.start, cand.unit.end))
            sentences.append(Sentence(cand.unit.text, [cand.index + 1], True))
    if on_token is not None:
        for i, piece in enumerate(text.split("\n")):
            on_token(("\n" if i else "") + piece)
    return Answer(question, text, False, name, citations, {}, sentences=sentences)


class ExtractiveAnswerer:
    """Quotes the passages' sentences that best answer the question, each with its [n]."""

    name = "extractive"

    def answer(
        self, question: str, passages: list[Passage], settings: Settings,
        on_token: TokenCallback | None = None,
    ) -> Answer:
        """Answer from the passages (the caller has already decided they are relevant)."""
        started = time.perf_counter()
        answer = extractive_answer(question, passages, settings, on_token)
        answer.timings_ms = {"generate": (time.perf_counter() - started) * 1000}
        return answer


