"""Evidence that the retrieved passages answer a question, as a few numbers per question.

Each feature is cheap (the question vector, the passages' sentence vectors the answerer needs
anyway, the BM25 index's IDF) and means the same thing on a one-article playbook and on a
250-article handbook, which is what lets one frozen threshold serve both (rag/refusal.py):

- `passage_cos`: best cosine of the question to a retrieved chunk.
- `sentence_cos`: best cosine to one sentence of the top article's passages. Only the top
  article: a stray sentence of a lower passage ("time off" on a tool's page) is not evidence.
  The question is compared whole and, when it has a preamble, by its asking part too
  (`answer_slot.ask_parts`: "I'm going on vacation for a week. *What should I do before I
  leave?*"): a scenario's first sentence dilutes the cosine of a question the article answers.
- `lexical_top`: the same share, counted in the top article's passages only (the terms must
  meet in one article, not be gathered from several).
- `lexical`: IDF-weighted share of the question's terms found in the top passages. A question
  whose rare words (Kubernetes, Expensify, sabbatical) the playbook never uses scores low even
  when its everyday words match.
- `rare_coverage`: 1 minus the highest normalised IDF (idf / the index's largest possible
  idf) of a question term missing from the top passages. `lexical` averages; this looks at the
  one term that matters most: "per diem in *Denver*", "submit expenses in *Expensify*",
  "paid *sabbatical*" name a specific thing, and when that thing is absent the everyday words
  around it do not make the question answerable. Normalising by log N makes 1 - 0.9 mean "a
  term about as rare as any" on a 3-chunk playbook and on a 10k-chunk handbook alike.
- `answer_type`, `names`, `names_together`: answer-level evidence, rag/answer_slot.py.
  `answer_type` is 0 when the question asks for a quantity, a date or a person and no
  sentence of the top passages holds one next to the question's rarest terms (the benefits
  page names the Thrift Savings Plan but states no match percentage); `names` drops when a
  name the question uses ("in *Denver*", "in *Expensify*") is missing from the top passages,
  `names_together` also when no sentence holds it next to one of the question's two rarest
  other terms ("*Apple's* policy on working from home" is not answered by a page naming an
  Apple laptop elsewhere).
- `typed_cos`: `sentence_cos` over the sentences of the top passages that hold what the
  question asks for (`answer_slot.asks_for`: a number, money, a date, a person); the plain
  sentence cosine for a question asking for nothing typed. A page about the topic that never
  states the asked-for number scores 0; a paraphrase whose answer shares no rare word with it
  ("how much *vacation time*" -> "4 hours per pay period") still scores by meaning.
- `ask_coverage`: `rare_coverage` of the question or of its best-covered asking part, trusted
  by the index's size (RARITY_PRIOR_CHUNKS): a scenario's preamble is in the asker's words, a
  near miss misses a word of what it asks ("paid *sabbaticals*").
- `sentence_lexical`: the best IDF-weighted share of the question's terms held by ONE sentence.
- `title_overlap`: the same share in the titles and heading paths of the top article's passages.
- `agreement`: 1 when the dense and the BM25 retrievers put the same article first.
- `margin`: how far the top article's cosine is ahead of the next article's (0 with one article).
- `probe_ratio`: `relevance` (the higher of the two cosines) divided by the median relevance of
  everyday probe questions on the same index (rag/refusal.py computes it): how much more this
  question matches the corpus than questions nobody would ask it. The one corpus-relative
  feature: a 3-chunk playbook gives anything a low cosine, a broad handbook a high one.
- `align_min`, `align_mean`: soft token alignment of the question (or of its best-aligned
  asking part) with the sentences of the top article's passages (`token_align.word_scores`:
  each content word's best contextual MiniLM cosine to any word piece there): the lowest
  word's and the IDF-weighted mean. A near miss's key word ("pet *insurance*") aligns with
  nothing. Measured for the refusal model and NOT chosen (BENCHMARKS.md, 2026-12-02, round 7:
  no subset with them beats the frozen one on dev, and a cold ask would pay one token-graph
  run over those sentences), so only the calibration computes them (rag/answer_align.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from rag import answer_slot
from rag.answer_align import alignment
from rag.retrieve import Passage

LEXICAL_PASSAGES = 3  # passages whose words count as "matched" for the lexical feature
FEATURES = ("passage_cos", "sentence_cos", "lexical", "lexical_top", "rare_coverage",
            "answer_type", "names", "agreement", "margin", "probe_ratio", "typed_cos",
            "sentence_lexical", "ask_coverage", "title_overlap", "names_together",
            "align_min", "align_mean")


@dataclass(frozen=True)
class Evidence:
    """The answerability features of one question (see the module docstring)."""

    passage_cos: float = 0.0
    sentence_cos: float = 0.0
    lexical: float = 0.0
    lexical_top: float = 0.0
    rare_coverage: float = 0.0
    answer_type: float = 0.0
    names: float = 0.0
    agreement: float = 0.0
    margin: float = 0.0
    probe_ratio: float = 0.0
    typed_cos: float = 0.0
    sentence_lexical: float = 0.0
    ask_coverage: float = 0.0
    title_overlap: float = 0.0
    names_together: float = 0.0
    align_min: float = 0.0
    align_mean: float = 0.0

    @property
    def relevance(self) -> float:
        """The higher of the passage and the sentence cosine."""
        return max(self.passage_cos, self.sentence_cos)

    def as_dict(self) -> dict[str, float]:
        """The features by name."""
        return asdict(self)


def lexical_coverage(question: str, texts: Sequence[str], bm25: Any) -> float:
    """IDF-weighted share of the question's BM25 terms that occur in `texts` (0 without terms).

    Unknown terms weigh the most (they are rarer than any indexed term), so a question about
    something the index has never seen cannot be carried by its common words."""
    from rag.index.bm25 import document_terms, tokenize

    terms = set(tokenize(question, bm25.stemmer))
    if not terms:
        return 0.0
    seen = {t for text in texts for t in document_terms(text, bm25.stemmer)}
    weights = {t: bm25.idf(t) for t in terms}
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in seen) / total if total else 0.0


def rare_coverage(question: str, texts: Sequence[str], bm25: Any) -> float:
    """1 - the highest idf / log(1 + (N + 0.5) / 0.5) of a question term absent from `texts`
    (1.0 when every term is present; 0.0 without terms). The denominator is the idf of a term no
    document has, so the value reads the same on any index size."""
    from rag.index.bm25 import document_terms, tokenize

    terms = set(tokenize(question, bm25.stemmer))
    if not terms:
        return 0.0
    seen = {t for text in texts for t in document_terms(text, bm25.stemmer)}
    missing = [bm25.idf(t) for t in terms - seen]
    return 1.0 - min(max(missing) / bm25.unseen_idf(), 1.0) if missing else 1.0


# How many chunks an index needs before its IDF can tell a rare word from an unlucky one:
# `ask_coverage` trusts the measured coverage N / (N + RARITY_PRIOR_CHUNKS) and reads
# NO_EVIDENCE for the rest, so on the 3-chunk bundled playbook (where every missing word has
# the largest idf) it says next to nothing either way, on a 2,000-chunk handbook 95 % of it.
# NO_EVIDENCE is the middle of the scale, not 1: a constant 1 on a tiny index would raise every
# question's score there, off-topic ones too. Both set by that reasoning, not tuned.
RARITY_PRIOR_CHUNKS = 100
NO_EVIDENCE = 0.5


def ask_coverage(question: str, texts: Sequence[str], bm25: Any) -> float:
    """`rare_coverage` of the question or of its best-covered asking part (`ask_parts`), with
    the missing word's rarity trusted as far as the index is large enough to measure it.

    A scenario's preamble is in the asker's words ("My *wrist* is healing and I need a special
    *keyboard*. Do I have to go through the whole accommodation process?"); what it asks is in
    the asking part, and a near miss misses a word there ("paid *sabbaticals*")."""
    confidence = len(bm25.ids) / (len(bm25.ids) + RARITY_PRIOR_CHUNKS)
    best = max(rare_coverage(asked, texts, bm25)
               for asked in (question, *answer_slot.ask_parts(question)))
    return confidence * best + (1.0 - confidence) * NO_EVIDENCE


def title_overlap(question: str, passages: Sequence[Passage], bm25: Any) -> float:
    """IDF-weighted share of the question's (or its best asking part's) terms in the titles and
    heading paths of the passages (the top article's): pseudo-relevance of the page chosen."""
    heads = [" ".join((p.first.title, *p.first.heading_path)) for p in passages]
    return max(lexical_coverage(asked, heads, bm25)
               for asked in (question, *answer_slot.ask_parts(question)))


def agreement(passages: Sequence[Passage]) -> float:
    """1.0 when the passage ranked best by dense and the one ranked best by BM25 come from the
    same article (0.0 when either retriever found nothing)."""
    best: dict[str, tuple[int, str]] = {}
    for passage in passages:
        for name, rank in passage.ranks.items():
            if name not in best or rank < best[name][0]:
                best[name] = (rank, passage.first.article_id)
    if "dense" not in best or "bm25" not in best:
        return 0.0
    return float(best["dense"][1] == best["bm25"][1])


def margin(passages: Sequence[Passage]) -> float:
    """Best cosine of the top article minus the best cosine of any other article (0 if none)."""
    by_article: dict[str, float] = {}
    for passage in passages:
        article = passage.first.article_id
        by_article[article] = max(by_article.get(article, 0.0), passage.score)
    if len(by_article) < 2:
        return 0.0
    first, second = sorted(by_article.values(), reverse=True)[:2]
    return first - second


def top_article_passages(passages: Sequence[Passage]) -> list[Passage]:
    """The passages of the article of the best-cosine passage."""
    if not passages:
        return []
    top = max(passages, key=lambda p: p.score).first.article_id
    return [p for p in passages if p.first.article_id == top]


def sentence_cosine(question: str, passages: Sequence[Passage], embedder: Any,
                    kind: str | None = None) -> float:
    """Best cosine of the question, or of one of its `ask_parts`, to one sentence or list item
    of the passages. Taking the best of the parts only ever raises the score, and only for
    questions with a preamble, which are answerable more often than not (measured on dev: no
    off-topic question moved by more than 0.03)."""
    from rag.citations import VECTORS
    from rag.text import link_text, units

    # a link target's digits ("/2023/..") are not the number a "how many" question asks for
    sentences = [u.text for p in passages for u in units(p.text)
                 if answer_slot.holds(link_text(u.text), kind)]
    if not sentences:
        return 0.0
    asked = [question, *answer_slot.ask_parts(question)]
    matrix = VECTORS.encode([*asked, *sentences], embedder)
    return float((matrix[len(asked):] @ matrix[:len(asked)].T).max())


def sentence_lexical(question: str, passages: Sequence[Passage], bm25: Any) -> float:
    """The best IDF-weighted share of the question's terms (or of one of its `ask_parts`')
    that ONE sentence or list item of the passages holds (0 without terms or sentences)."""
    from rag.index.bm25 import document_terms, tokenize
    from rag.text import units

    found = [set(document_terms(u.text, bm25.stemmer)) for p in passages for u in units(p.text)]
    best = 0.0
    for asked in (question, *answer_slot.ask_parts(question)):
        weights = {t: bm25.idf(t) for t in set(tokenize(asked, bm25.stemmer))}
        total = sum(weights.values())
        for terms in found if total else ():
            best = max(best, sum(w for t, w in weights.items() if t in terms) / total)
    return best


def evidence(question: str, passages: Sequence[Passage], bm25: Any, embedder: Any,
             wanted: Collection[str] | None = None) -> Evidence:
    """The features named in `wanted` (None: all of them, as the calibration needs) for one
    question and its retrieved passages; the others stay 0. The ask path asks only for what the
    frozen model weighs (rag/refusal.py): every feature costs tokenising or encoding sentences."""
    if not passages:
        return Evidence()
    top = top_article_passages(passages)
    first = passages[:LEXICAL_PASSAGES]
    texts = [c.embed_text for p in first for c in p.chunks]
    best = max(p.score for p in passages)
    aligned = functools.cache(lambda: alignment(question, top, bm25, embedder))
    compute: dict[str, Callable[[], float]] = {
        "passage_cos": lambda: best,
        # a table or code only (no sentences): the passage cosine
        "sentence_cos": lambda: sentence_cosine(question, top, embedder) or best,
        "lexical": lambda: lexical_coverage(question, texts, bm25),
        "lexical_top": lambda: lexical_coverage(
            question, [c.embed_text for p in top for c in p.chunks], bm25),
        "rare_coverage": lambda: rare_coverage(question, texts, bm25),
        "answer_type": lambda: answer_slot.answer_type(question, first, bm25),
        "names": lambda: answer_slot.names(question, texts, bm25),
        "agreement": lambda: agreement(passages),
        "margin": lambda: margin(passages),
        "typed_cos": lambda: sentence_cosine(question, first, embedder,
                                             answer_slot.asks_for(question)),
        "sentence_lexical": lambda: sentence_lexical(question, first, bm25),
        "ask_coverage": lambda: ask_coverage(question, texts, bm25),
        "title_overlap": lambda: title_overlap(question, top, bm25),
        "names_together": lambda: answer_slot.names_together(question, first, bm25),
        "align_min": lambda: aligned()["align_min"],
        "align_mean": lambda: aligned()["align_mean"],
    }
    return Evidence(**{name: value() for name, value in compute.items()
                       if wanted is None or name in wanted})
