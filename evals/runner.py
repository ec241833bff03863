"""Run suites: retrieval per retriever (dense, BM25, hybrid) and answers per answerer.

Retrieval is scored per document: the fused chunk ranking of `rag.retrieve.search` is collapsed
to documents (best chunk wins), then hit@k, MRR@10, nDCG@10 and recall@k are computed against
the gold ids. The passages `rag.retrieve.retrieve` would hand to an answerer are checked for the
gold quote. Answers come from `rag.api.ask`, the same call the CLI and the UI make.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from evals import metrics
from evals.suites import Question, Suite
from rag.settings import Settings

MODES = ("dense", "bm25", "hybrid")
DEPTH = 300  # chunks per retriever when ranking documents (enough for recall@100)
Progress = Callable[[str], None]


class SuiteProgress:
    """Per-question callback printing "suite: question n of N (stage), ETA" through `say`,
    at most once every `every` seconds (and at the last question), so a long eval shows where
    it is without flooding a CI log. Stages: retrieval, then each answerer, over the same
    questions; the ETA assumes the remaining questions cost what the done ones did."""

    def __init__(
        self, suite: str, questions: int, stages: Sequence[str], say: Callable[[str], None],
        every: float = 5.0, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.suite, self.questions, self.stages = suite, questions, list(stages)
        self.total = questions * len(self.stages)
        self.say, self.every, self.clock = say, every, clock
        self.done = 0
        self.started = self.last = clock()

    def __call__(self, _question_id: str) -> None:
        self.done += 1
        now = self.clock()
        if now - self.last < self.every and self.done < self.total:
            return
        self.last = now
        self.say(self.line(now))

    def line(self, now: float) -> str:
        """The progress line after `self.done` questions."""
        stage = self.stages[min((self.done - 1) // max(self.questions, 1), len(self.stages) - 1)]
        n = (self.done - 1) % max(self.questions, 1) + 1
        left = (now - self.started) / self.done * (self.total - self.done)
        eta = "done" if self.done >= self.total else f"ETA {_duration(left)}"
        return f"{self.suite}: question {n} of {self.questions} ({stage}), {eta}"


def _duration(seconds: float) -> str:
    """12 s, 3 min 05 s."""
    seconds = round(seconds)
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60:02d} s"


def ranked_documents(reader: Any, hits: Sequence[tuple[str, float, Any]], key: str) -> list[str]:
    """Document ids (article_id or source) in order of their best chunk."""
    return metrics.dedupe(getattr(reader.chunks[cid], key) for cid, _, _ in hits)


def evaluate_retrieval(
    questions: Sequence[Question], settings: Settings, key: str,
    modes: Sequence[str] = MODES, progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Per-question retrieval records for each retriever."""
    from rag.api import clean_question
    from rag.embedder import make_embedder
    from rag.index import load_index
    from rag.retrieve import retrieve, search

    reader = load_index(settings)
    embedder = make_embedder(settings)
    records = []
    for q in questions:
        text = clean_question(q.question, settings)
        started = time.perf_counter()
        vector = embedder.get_query_embedding(text)
        record: dict[str, Any] = {"id": q.id, "embed_ms": (time.perf_counter() - started) * 1000}
        for mode in modes:
            started = time.perf_counter()
            passages = retrieve(reader, text, vector, settings, mode=mode)
            elapsed = (time.perf_counter() - started) * 1000
            hits = search(reader, text, vector, settings, mode=mode, depth=DEPTH)
            ranked = ranked_documents(reader, hits, key)
            entry: dict[str, Any] = {"ms": elapsed, "top": ranked[:5], "best_score":
                                     max((p.score for p in passages), default=0.0)}
            if not q.refuse:
                entry.update(metrics.retrieval_scores(ranked, q.relevant))
                entry.update(_passage_scores(q, passages, key))
            record[mode] = entry
        record["refusal"] = refusal_record(text, settings)
        records.append(record)
        if progress:
            progress(q.id)
    return records


def refusal_record(question: str, settings: Settings) -> dict[str, Any]:
    """The answerability score and decision `rag.ask` reaches for a question (for the refusal
    curves: the same retrieval and the same `decide`)."""
    from rag.api import retrieve_passages
    from rag.refusal import decide, without_injection

    passages = retrieve_passages(without_injection(question) or question, settings)
    decision = decide(question, passages, settings)
    return {"score": decision.relevance, "refused": decision.refuse, "reason": decision.reason,
            "rule": decision.evidence is None and decision.refuse}


def _passage_scores(q: Question, passages: Sequence[Any], key: str) -> dict[str, float]:
    """Gold quote / gold document among the passages an answerer would see."""
    scores: dict[str, float] = {}
    in_gold = [getattr(p.first, key) in q.relevant for p in passages]
    scores["passage_hit@1"] = float(any(in_gold[:1]))
    scores["passage_hit@5"] = float(any(in_gold[:5]))
    if q.quotes:
        texts = [p.text for p in passages]
        scores["quote@1"] = float(metrics.contains_quote(texts[:1], q.quotes))
        scores["quote@3"] = float(metrics.contains_quote(texts[:3], q.quotes))
        scores["quote@5"] = float(metrics.contains_quote(texts[:5], q.quotes))
    return scores


def evaluate_answers(
    questions: Sequence[Question], settings: Settings, key: str, answerer: str,
    supports: metrics.SupportFn, progress: Progress | None = None,
    judge: Callable[[str, str], bool] | None = None,
) -> list[dict[str, Any]]:
    """Per-question answer records from rag.ask with the given answerer (judge: optional
    LLM faithfulness check)."""
    from rag.api import ask
    from rag.errors import PlaybookError

    configured = settings.model_copy(update={"llm": answerer})
    records = []
    for q in questions:
        try:
            answer = ask(q.question, configured)
        except PlaybookError as exc:
            records.append({"id": q.id, "error": str(exc), "refused": True})
            continue
        record = score_answer(q, answer, key, supports)
        if judge is not None and not record["refused"] and not q.refuse:
            from evals.judge import faithfulness

            passages = {c.n: c.text for c in answer.citations}
            pairs = [(c.text, "\n\n".join(passages[n] for n in c.citations if n in passages))
                     for c in claims_of(answer)]
            record["faithfulness"] = faithfulness(pairs, judge)
        records.append(record)
        if progress:
            progress(q.id)
    return records


def claims_of(answer: Any) -> list[metrics.Claim]:
    """The answer's sentences with their citation numbers (parsed from the text if absent)."""
    if answer.sentences:
        return [metrics.Claim(s.text, list(s.citations)) for s in answer.sentences]
    import re

    parts = re.split(r"(?<=[.!?\]])\s+(?=[A-Z0-9\"'(*-])", answer.answer.strip())
    return [metrics.Claim(p, metrics.markers(p)) for p in parts if p.strip()]


def score_answer(
    q: Question, answer: Any, key: str, supports: metrics.SupportFn
) -> dict[str, Any]:
    """Metrics of one answer against the gold."""
    record: dict[str, Any] = {
        "id": q.id, "refused": bool(answer.refused), "answer": answer.answer,
        "timings_ms": dict(answer.timings_ms),
    }
    if answer.refused or q.refuse:
        return record
    claims = claims_of(answer)
    passages = {c.n: c.text for c in answer.citations}
    cited = {n for claim in claims for n in claim.citations if n in passages}
    recall, precision = metrics.citation_recall_precision(claims, passages, supports)
    doc_of = {c.n: getattr(c, key) for c in answer.citations}
    cited_docs = {doc_of[n] for n in cited}
    citing = [claim for claim in claims if any(n in passages for n in claim.citations)]
    record.update({
        "citation_validity": metrics.citation_validity(claims, passages),
        "citation_recall": recall,
        "citation_precision": precision,
        "key_point_recall": metrics.key_point_recall(answer.answer, q.key_points),
        "cites_gold": float(bool(cited_docs & q.relevant)),
        # share of the cited sentences that cite a gold article (answer precision by the
        # human labels: a sentence quoted from an unrelated article lowers it)
        "gold_sentences": metrics.mean(
            float(any(doc_of.get(n) in q.relevant for n in claim.citations)) for claim in citing
        ),
        "sentences": len(claims),
    })
    if q.quotes:
        texts = [passages[n] for n in sorted(cited)]
        record["cited_quote"] = float(metrics.contains_quote(texts, q.quotes))
    return record


RETRIEVAL_KEYS = (
    "hit@1", "hit@3", "hit@5", "mrr@10", "ndcg@10", "recall@5", "recall@10", "recall@100",
    "passage_hit@1", "passage_hit@5", "quote@1", "quote@3", "quote@5",
)
ANSWER_KEYS = (
    "citation_validity", "citation_recall", "citation_precision", "key_point_recall",
    "cites_gold", "gold_sentences", "cited_quote", "faithfulness",
)


def summarize_retrieval(records: Sequence[dict[str, Any]], modes: Sequence[str] = MODES
                        ) -> dict[str, dict[str, float]]:
    """Mean of each retrieval metric per retriever, plus latency p50/p95."""
    summary: dict[str, dict[str, float]] = {}
    for mode in modes:
        entries = [r[mode] for r in records if mode in r]
        row = {k: metrics.mean(e.get(k) for e in entries) for k in RETRIEVAL_KEYS}
        ms = [e["ms"] for e in entries]
        row.update({"latency_p50_ms": metrics.percentile(ms, 50),
                    "latency_p95_ms": metrics.percentile(ms, 95)})
        summary[mode] = {k: float(v) for k, v in row.items() if v is not None}
    return summary


def summarize_answers(
    questions: Sequence[Question], records: Sequence[dict[str, Any]]
) -> dict[str, float]:
    """Means of the answer metrics, refusal scores and per-stage latency percentiles."""
    by_id = {q.id: q for q in questions}
    row: dict[str, float | None] = {
        k: metrics.mean(r.get(k) for r in records) for k in ANSWER_KEYS
    }
    row.update(metrics.refusal_scores(
        [by_id[r["id"]].refuse for r in records], [bool(r["refused"]) for r in records]
    ))
    row.update(metrics.refusal_by_topic(
        [by_id[r["id"]].topic for r in records if by_id[r["id"]].refuse],
        [bool(r["refused"]) for r in records if by_id[r["id"]].refuse],
    ))
    row["errors"] = float(sum("error" in r for r in records))
    for stage in ("retrieve", "generate", "total"):
        values = [r["timings_ms"][stage] for r in records if stage in r.get("timings_ms", {})]
        row[f"{stage}_p50_ms"] = metrics.percentile(values, 50)
        row[f"{stage}_p95_ms"] = metrics.percentile(values, 95)
    return {k: float(v) for k, v in row.items() if v is not None}


def run_suite(
    suite: Suite, settings: Settings, answerers: Sequence[str], supports: metrics.SupportFn,
    progress: Progress | None = None, judge: Callable[[str, str], bool] | None = None,
) -> dict[str, Any]:
    """Retrieval and answer results of one suite (settings already point at its index)."""
    started = time.perf_counter()
    retrieval = evaluate_retrieval(suite.questions, settings, suite.key, progress=progress)
    answers = {
        name: evaluate_answers(suite.questions, settings, suite.key, name, supports, progress,
                               judge if name == "openai" else None)
        for name in answerers
    }
    return {
        "suite": suite.name,
        "questions": [q.__dict__ | {"relevant": sorted(q.relevant)} for q in suite.questions],
        "retrieval": summarize_retrieval(retrieval),
        "answers": {n: summarize_answers(suite.questions, r) for n, r in answers.items()},
        "records": {"retrieval": retrieval, "answers": answers},
        "seconds": round(time.perf_counter() - started, 2),
    }
