"""The core API: `ask(question, settings, history) -> Answer`. The CLI, UI and evals call this."""

from __future__ import annotations

import contextvars
import re
import time
from collections.abc import Sequence

from rag.answer import Answer, Turn
from rag.answerers import TokenCallback, get_answerer
from rag.errors import QuestionError
from rag.retrieve import retrieve_passages
from rag.settings import Settings

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")



def clean_question(question: str, settings: Settings) -> str:
    """Strip control characters and surrounding space; truncate very long questions."""
    text = _CONTROL.sub(" ", question or "").strip()
    # Lone surrogates (possible through JSON "\ud800") break tokenizers: make them "?".
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = re.sub(r"\s+", " ", text)
    if not text:
        raise QuestionError("The question is empty: type a question about the playbook.")
    if not re.search(r"\w", text):
        raise QuestionError("The question has no words in it: type a question about the playbook.")
    return text[: settings.max_question_chars]


def ask(
    question: str, settings: Settings, history: Sequence[Turn] = (),
    on_token: TokenCallback | None = None,
) -> Answer:
    """Answer a question from the playbook, citing the passages every claim comes from.

    Follow-ups are rewritten into a standalone query first (returned as `Answer.query`); the
    question is refused when the passages are not relevant enough; `on_token` receives the text
    as it is produced (for LLM answerers the unverified draft: the returned Answer supersedes it).
    """
    # In a context of its own: what this question marks (the index it answers from, whose
    # damaged sentence table is then its error: rag/vector_cache.py) ends with it, even on a
    # server thread that answers other people's questions next.
    return contextvars.copy_context().run(_ask, question, settings, history, on_token)


def _ask(
    question: str, settings: Settings, history: Sequence[Turn], on_token: TokenCallback | None,
) -> Answer:
    from rag.followup import standalone_query
    from rag.freshness import annotate
    from rag.questionlog import log_question
    from rag.refusal import decide, injection, refusal_answer, without_injection

    started = time.perf_counter()
    text = clean_question(question, settings)
    query = standalone_query(text, history, settings) if history else text
    search = without_injection(query) or query
    passages = retrieve_passages(search, settings)
    decision = decide(query, passages, settings)
    retrieved = time.perf_counter()
    if decision.refuse:
        answer = refusal_answer(text, passages, settings.llm)
        if on_token is not None:
            on_token(answer.answer)
    else:
        guarded = injection(text)  # answer only from the playbook: quote it, no model
        answerer = get_answerer("extractive" if guarded else settings.llm)
        answer = answerer.answer(search, passages, settings, on_token)
        answer.question = text
        if guarded:
            answer.notice = "Instructions inside the question were ignored; quoting the playbook."
    annotate(answer, settings)  # owners and freshness of the cited articles
    done = time.perf_counter()
    answer.query = query
    answer.timings_ms = {
        **{k: v for k, v in answer.timings_ms.items() if k == "first_token"},
        "retrieve": (retrieved - started) * 1000,
        "generate": (done - retrieved) * 1000,
        "total": (done - started) * 1000,
    }
    log_question(answer, decision.relevance, settings)  # only when PLAYBOOK_LOG_QUESTIONS
    return answer
