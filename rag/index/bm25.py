"""A small BM25 index over chunk texts that can be updated without re-tokenising everything.

Term counts live in a sparse doc x term matrix saved beside each index generation; an ingest
that changes one article drops that article's rows and appends new ones, so the cost of an
update is proportional to the change, not to the corpus. Reading and searching use numpy only:
scipy (imported by an update) costs ~0.2 s of a cold question's start.
"""

from __future__ import annotations

import json
import re
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from rag.chunk import Chunk
from rag.text import link_text

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not now of off on once only or other our ours ourselves out over
    own same she should so some such than that the their theirs them themselves then there these
    they this those through to too under until up very was we were what when where which while who
    whom why will with would you your yours yourself yourselves""".split()
)


def stem(word: str) -> str:
    """A light English stemmer: plural and common verb endings only (keeps terms readable)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix) and not word.endswith("ss"):
            return word[: -len(suffix)]
    return word


_DERIVED = (("ational", "ate"), ("ization", "ize"), ("ation", "ate"), ("fulness", "ful"),
            ("iveness", "ive"), ("ousness", "ous"), ("ness", ""), ("ment", ""), ("ly", ""))


def stem_plus(word: str) -> str:
    """`stem`, then common derivational endings and a final e or doubled consonant, so that
    assume / assumed / assuming, rotate / rotation and run / running share one term."""
    word = stem(word)
    if len(word) == 4 and word.endswith("s") and word[-2] not in "suiy":
        word = word[:-1]  # short plurals the light stemmer leaves alone (runs, maps)
    for suffix, repl in _DERIVED:
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            word = word[: -len(suffix)] + repl
            break
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    if len(word) >= 4 and word[-1] == word[-2] and word[-1] not in "aeioulsz":
        word = word[:-1]
    return word


STEMMERS = ("light", "plus", "none")
# "plus" chosen on the cwe-playbook dev questions (`python -m evals.tune --suite cwe-dev`):
# hybrid nDCG@10 0.921 vs 0.902 with "light" and 0.857 with no stemming (BM25 alone 0.862 vs
# 0.842), all else at defaults; it led "light" under every fusion setting tried. SciFact train
# agrees: hybrid 0.710 vs 0.703, BM25 0.697 vs 0.681 (`playbook eval --beir`). The fusion
# knobs (RRF k, depth, BM25 weight, k1, b) moved nDCG@10 by ~0.003 (one question of 50) at
# best, so they keep their defaults rather than being fitted to noise.
DEFAULT_STEMMER = "plus"
_STEM = {"light": stem, "plus": stem_plus, "none": lambda w: w}


@lru_cache(maxsize=1 << 18)
def _stemmed(word: str, stemmer: str) -> str:
    return _STEM[stemmer](word)  # a corpus has far fewer distinct words than words: memoise


def tokenize(text: str, stemmer: str = DEFAULT_STEMMER) -> list[str]:
    """Lowercased word stems without stop words (`stemmer`: light, plus or none)."""
    return [_stemmed(t, stemmer) for t in _TOKEN.findall(text.lower()) if t not in STOP_WORDS]


def document_terms(text: str, stemmer: str = DEFAULT_STEMMER) -> list[str]:
    """`tokenize` of what a document shows: link targets dropped, link text kept
    (rag.text.link_text). A URL's host and path words ("drive.google.com") are not what a
    passage is about; indexing them let "Google's parental leave" match a leave page."""
    return tokenize(link_text(text), stemmer)


# How documents are read into terms; an index saved with another value (or none: before
# 2026-12-01 link targets were counted as words) is re-counted from its chunks on load.
DOCUMENT_TEXT = "link-text"


@dataclass(frozen=True)
class Terms:
    """The term counts as compressed sparse columns (one column per term, rows = documents):
    what a query reads. Plain numpy arrays, so that answering never imports scipy (~0.2 s)."""

    indptr: np.ndarray  # int64, len = terms + 1
    rows: np.ndarray  # int32 document row of each entry
    counts: np.ndarray  # float32 term count of each entry
    n_docs: int

    @classmethod
    def from_csr(cls, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
                 shape: tuple[int, int]) -> Terms:
        """Transpose document rows (what an ingest appends) into term columns, linearly."""
        n_docs, n_terms = shape
        order = np.argsort(indices, kind="stable")  # stable: rows stay sorted in each column
        doc_of_entry = np.repeat(np.arange(n_docs, dtype=np.int32), np.diff(indptr))
        per_term = np.bincount(indices, minlength=n_terms)
        return cls(np.concatenate([[0], np.cumsum(per_term)]).astype(np.int64),
                   doc_of_entry[order], np.asarray(data, np.float32)[order], n_docs)

    def doc_lengths(self) -> np.ndarray:
        return np.bincount(self.rows, weights=self.counts, minlength=self.n_docs).astype(
            np.float32)

    def document_frequencies(self) -> np.ndarray:
        return np.diff(self.indptr).astype(np.float32)

    def csr(self) -> Any:
        """The same counts as a scipy CSR matrix (documents as rows), for updates."""
        from scipy import sparse

        return sparse.csc_matrix((self.counts, self.rows, self.indptr),
                                 shape=(self.n_docs, len(self.indptr) - 1)).tocsr()


class BM25:
    """Okapi BM25 over a sparse term-count matrix (rows = documents)."""

    def __init__(
        self, ids: Sequence[str], terms: Terms, vocab: dict[str, int],
        k1: float = 1.2, b: float = 0.75, stemmer: str = DEFAULT_STEMMER,
    ) -> None:
        self.ids = list(ids)
        self.vocab = vocab
        self.k1, self.b = k1, b
        self.stemmer = stemmer
        self.terms = terms
        self._doc_len = terms.doc_lengths()
        self._avg_len = float(self._doc_len.mean()) if len(self.ids) else 1.0
        df, n = terms.document_frequencies(), len(self.ids)
        self._idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)

    @classmethod
    def build(cls, ids: Sequence[str], texts: Iterable[str],
              stemmer: str = DEFAULT_STEMMER) -> BM25:
        """Index texts from scratch."""
        return cls.empty(stemmer).updated(set(), ids, texts)

    @classmethod
    def empty(cls, stemmer: str = DEFAULT_STEMMER) -> BM25:
        """An index with no documents."""
        none = Terms(np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32), 0)
        return cls([], none, {}, stemmer=stemmer)

    def updated(self, remove: set[str], ids: Sequence[str], texts: Iterable[str]) -> BM25:
        """A new index without the `remove` ids and with the given documents appended."""
        from scipy import sparse  # only an ingest (or a server's reload) gets here

        vocab = dict(self.vocab)
        # CSR parts grown in typed arrays (4-8 bytes per entry, not Python ints in lists:
        # at 100k chunks that is ~100 MB instead of ~1 GB).
        indptr, indices, data = array("q", [0]), array("i"), array("f")
        for text in texts:
            counts = Counter(document_terms(text, self.stemmer))
            indices.extend(vocab.setdefault(term, len(vocab)) for term in counts)
            data.extend(counts.values())
            indptr.append(len(indices))
        added = sparse.csr_matrix(
            (np.frombuffer(data, np.float32), np.frombuffer(indices, np.int32),
             np.frombuffer(indptr, np.int64)),
            shape=(len(ids), len(vocab)),
        )
        keep = [i for i, doc_id in enumerate(self.ids) if doc_id not in remove]
        old = self.terms.csr()[keep] if keep else sparse.csr_matrix((0, 0))
        old = sparse.csr_matrix(old, shape=(len(keep), len(vocab)))
        both = sparse.vstack([old, added]).tocsc()
        both.sort_indices()
        terms = Terms(both.indptr.astype(np.int64), both.indices.astype(np.int32),
                      both.data.astype(np.float32), both.shape[0])
        return BM25([*(self.ids[i] for i in keep), *ids], terms, vocab, self.k1, self.b,
                    self.stemmer)

    def idf(self, term: str) -> float:
        """Inverse document frequency of a (tokenized) term; a term no document has gets
        `unseen_idf`: it is as rare as can be."""
        index = self.vocab.get(term)
        if index is not None and index < len(self._idf):
            return float(self._idf[index])
        return self.unseen_idf()

    def unseen_idf(self) -> float:
        """The idf of a term no document has, the highest value the formula gives,
        log(1 + (N + 0.5) / 0.5): dividing by it reads an idf the same on any index size."""
        return float(np.log(1.0 + (len(self.ids) + 0.5) / 0.5))

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """The k best (id, score) pairs; documents sharing no term with the query are left out."""
        terms = [self.vocab[t] for t in set(tokenize(query, self.stemmer)) if t in self.vocab]
        if not terms or not self.ids:
            return []
        scores = np.zeros(len(self.ids), dtype=np.float32)
        norm = self.k1 * (1 - self.b + self.b * self._doc_len / self._avg_len)
        column = self.terms
        for t in terms:
            lo, hi = column.indptr[t], column.indptr[t + 1]
            docs, tf = column.rows[lo:hi], column.counts[lo:hi]
            scores[docs] += self._idf[t] * tf * (self.k1 + 1) / (tf + norm[docs])
        hits = np.flatnonzero(scores)
        top = hits[np.argsort(-scores[hits], kind="stable")[:k]]
        return [(self.ids[i], float(scores[i])) for i in top]

    def save(self, folder: Path) -> None:
        """Write the index into `folder` (two files). bm25.npz holds the term columns in the
        layout of scipy's `save_npz` (format "csc", documents as rows), readable by either."""
        t = self.terms
        with open(folder / "bm25.npz", "wb") as out:
            np.savez(out, indices=t.rows, indptr=t.indptr, format=np.array(b"csc"),
                     shape=np.array([t.n_docs, len(t.indptr) - 1]), data=t.counts)
        terms = sorted(self.vocab, key=self.vocab.__getitem__)
        meta = {"ids": self.ids, "terms": terms, "stemmer": self.stemmer,
                "text": DOCUMENT_TEXT}
        (folder / "bm25.json").write_text(json.dumps(meta))

    @classmethod
    def load(cls, folder: Path, chunks: Sequence[Chunk] = ()) -> BM25:
        """Read an index written by `save`. One counted with another stemmer than the default is
        re-counted from the generation's `chunks`, so indexes built before a change work; so is
        one whose documents were read another way (DOCUMENT_TEXT)."""
        meta = json.loads((folder / "bm25.json").read_text())
        stemmer = meta.get("stemmer", "light")
        if _outdated(meta) and chunks:
            texts = {c.id: c.embed_text for c in chunks}
            return cls.build(meta["ids"], [texts[i] for i in meta["ids"]])
        vocab = {t: i for i, t in enumerate(meta["terms"])}
        return cls(meta["ids"], read_terms(folder / "bm25.npz"), vocab, stemmer=stemmer)

    @staticmethod
    def outdated(folder: Path) -> bool:
        """The BM25 saved in `folder` was counted with another stemmer or document text."""
        return _outdated(json.loads((folder / "bm25.json").read_text()))


def _outdated(meta: dict) -> bool:
    return meta.get("stemmer", "light") != DEFAULT_STEMMER or meta.get("text") != DOCUMENT_TEXT


def read_terms(path: Path) -> Terms:
    """The term columns of a bm25.npz: written as columns since 2026-11-30, as scipy CSR rows
    by earlier versions (transposed here, once per process)."""
    with np.load(path, allow_pickle=False) as npz:
        kind = bytes(npz["format"].item()).decode() if npz["format"].dtype.kind == "S" else str(
            npz["format"].item())
        shape = (int(npz["shape"][0]), int(npz["shape"][1]))
        data, indices, indptr = npz["data"], npz["indices"], npz["indptr"]
    if kind == "csc":
        return Terms(indptr.astype(np.int64), indices.astype(np.int32),
                     data.astype(np.float32), shape[0])
    if kind != "csr":
        raise ValueError(f"bm25.npz holds a {kind!r} matrix")
    return Terms.from_csr(data, indices, indptr, shape)
