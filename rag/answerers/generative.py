"""The `local` and `openai` answerers: an LLM writes the answer, then every sentence is verified.

The prompt numbers the passages as quoted data (most relevant sentences first, within
`llm_context_chars` so the time to first token stays low) and asks for [n] after each sentence.
The draft streams to `on_token` as it is generated; the returned Answer is the checked text:
numbers matching no passage removed, unsupported sentences re-attributed or dropped, and the
extractive answer instead when too little survives or the model fails.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from importlib import resources

from rag.answer import Answer, Citation, Sentence
from rag.answerers import TokenCallback
from rag.answerers.draft import Draft
from rag.answerers.extractive import Candidate, extractive_answer, score_candidates
from rag.answerers.structure import opens_list
from rag.citations import Checked, Thresholds, verify
from rag.errors import LLMError
from rag.llm import ChatModel, Message, make_llm, timed_stream
from rag.retrieve import Passage
from rag.settings import Settings
from rag.text import content_terms

log = logging.getLogger(__name__)
NOT_COVERED = "does not cover"
FIRST_TOKEN_SHARE = 0.6  # of llm_first_token_timeout: the prompt must be read well before it


@lru_cache(maxsize=8)
def prompt(name: str) -> str:
    """A prompt template from rag/prompts (package data)."""
    return resources.files("rag").joinpath("prompts", f"{name}.txt").read_text(encoding="utf-8")


def passage_block(
    question: str, passages: Sequence[Passage], settings: Settings
) -> str:
    """The numbered passages for the prompt: each one's most relevant sentences, within budget."""
    shown = list(passages[: settings.llm_passages])
    scored = sorted((c for c in score_candidates(question, shown, settings)
                     if not c.continuation), key=lambda c: -c.score)  # items come whole
    picked: dict[int, list[Candidate]] = {}
    used = 0
    for cand in scored:
        cost = len(cand.block_text if cand.unit.list_item else cand.unit.text) + 1
        if used + cost > settings.llm_context_chars and picked:
            continue
        picked.setdefault(cand.index, []).append(cand)
        used += cost
    blocks = []
    for i, passage in enumerate(shown):
        chosen = sorted(picked.get(i, []), key=lambda c: c.unit.start)
        if chosen:
            lines = [f"- {c.block_text}" if c.unit.list_item else c.unit.text for c in chosen]
            blocks.append(f"[{i + 1}] {passage.first.heading}:\n" + "\n".join(lines))
    return "\n\n".join(blocks)


def quoted_block(question: str, passages: Sequence[Passage], settings: Settings) -> str:
    """The extractive answer's cited sentences, as the material a model phrases (only from
    `passages`: a chunk it fetched would be cited by a number the model's passages lack)."""
    return extractive_answer(question, passages, settings, fetch=False).answer


def build_messages(
    question: str, passages: Sequence[Passage], settings: Settings, budget_tokens: int = 0,
    count: Callable[[list[Message]], int] | None = None,
) -> list[Message]:
    """System rules plus the user message holding the delimited material and the question.

    `settings.llm_prompt` picks the material: the extractive answer's cited sentences or the
    passages' most relevant sentences. With `budget_tokens` and a token `count`, material is cut
    (whole lines from the end) until the prompt fits: the first token must come quickly.
    """
    style = settings.llm_prompt
    material = (quoted_block if style == "extractive" else passage_block)(
        question, passages, settings)
    template = prompt("phrase" if style == "extractive" else "answer")
    lines = material.split("\n")
    while True:
        user = template.format(passages="\n".join(lines), question=question)
        messages = [{"role": "system", "content": prompt("system").strip()},
                    {"role": "user", "content": user}]
        if not budget_tokens or count is None or len(lines) <= 1 \
                or count(messages) <= budget_tokens:
            return messages
        lines = lines[:-1]


class GenerativeAnswerer:
    """Answers with a language model (`local` llama.cpp or an `openai`-compatible server)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def answer(
        self, question: str, passages: list[Passage], settings: Settings,
        on_token: TokenCallback | None = None,
    ) -> Answer:
        """Generate, stream, verify; fall back to the extractive answer with a notice."""
        started = time.perf_counter()
        prefetch = prefetch_checker(passages, settings)
        first_token: float | None = None
        model_name = ""
        draft = Draft()
        try:
            model = make_llm(settings, self.name)
            model_name = str(getattr(model, "model_name", model.name))
            stream = timed_stream(model, self._messages(model, question, passages, settings),
                                  settings.llm_max_tokens, settings.llm_first_token_timeout,
                                  settings.llm_timeout)
            for piece in stream:
                first_token = first_token or time.perf_counter()
                if on_token is not None:
                    on_token(piece)
                if not draft.add(piece):
                    stream.close()  # repeating itself: stop generating
                    break
        except LLMError as exc:
            answer = fallback(question, passages, settings, self.name, f"{exc}")
        else:
            if prefetch is not None:
                prefetch.join()  # usually done long before the model is
            answer = checked_answer(question, draft.text(), passages, settings, self.name)
            answer.model = model_name if answer.answerer == self.name else ""
        done = time.perf_counter()
        answer.timings_ms = {"generate": (done - started) * 1000}
        if first_token is not None:
            answer.timings_ms["first_token"] = (first_token - started) * 1000
        return answer

    @staticmethod
    def _messages(
        model: ChatModel, question: str, passages: Sequence[Passage], settings: Settings
    ) -> list[Message]:
        """The prompt, inside the model's first-token budget when it knows its prompt speed."""
        budget = getattr(model, "prompt_budget", None)
        count = getattr(model, "count_tokens", None)
        if budget is None or count is None:
            return build_messages(question, passages, settings)
        seconds = FIRST_TOKEN_SHARE * settings.llm_first_token_timeout
        return build_messages(question, passages, settings, budget(seconds), count)


class LocalAnswerer(GenerativeAnswerer):
    """A GGUF model run in-process by llama.cpp (default: the bundled SmolLM2-135M)."""

    def __init__(self) -> None:
        super().__init__("local")


class OpenAIAnswerer(GenerativeAnswerer):
    """Any OpenAI-compatible server (Ollama, vLLM, llama.cpp server, OpenAI)."""

    def __init__(self) -> None:
        super().__init__("openai")


def prefetch_checker(passages: Sequence[Passage], settings: Settings) -> threading.Thread | None:
    """Under the learned checker, a started thread computing what checking the draft will read
    of the passages (their sentences' word-piece vectors: `rag.support.prefetch_tokens`, most
    of the checker's cost) while the model writes; None otherwise. The embedder runs one model
    call at a time (its lock) and the caches are thread-safe; a failure here only leaves the
    checker to compute the vectors itself."""
    if settings.support_model != "learned" or not passages:
        return None
    texts = [p.text for p in passages]

    def run() -> None:
        from rag.embedder import make_embedder
        from rag.support import prefetch_tokens

        try:
            prefetch_tokens(texts, make_embedder(settings))
        except Exception:  # noqa: BLE001 - the checker computes whatever is missing
            log.debug("checker prefetch failed", exc_info=True)

    thread = threading.Thread(target=run, name="checker-prefetch", daemon=True)
    thread.start()
    return thread


def fallback(
    question: str, passages: Sequence[Passage], settings: Settings, name: str, reason: str
) -> Answer:
    """The extractive answer, with a notice saying why the generated one is not shown."""
    answer = extractive_answer(question, passages, settings, name=f"{name}>extractive")
    answer.notice = f"{reason.rstrip('.')}; showing the extractive answer instead."
    return answer


def checked_answer(
    question: str, draft: str, passages: Sequence[Passage], settings: Settings, name: str
) -> Answer:
    """The draft after citation verification, or the extractive fallback if too little holds."""
    from rag.embedder import make_embedder

    if NOT_COVERED in draft.lower() and len(content_terms(draft)) < 8:
        return fallback(question, passages, settings, name,
                        "The model found no answer in the passages")
    checked = verify(draft, [p.text for p in passages], make_embedder(settings),
                     thresholds=Thresholds.from_settings(settings))
    checked = [c for c in checked if not _label(c.text)]
    claims = [c for c in checked if content_terms(c.text)]
    kept = [c for c in claims if c.verified]
    if not kept or len(kept) < settings.min_verified * len(claims):
        return fallback(question, passages, settings, name,
                        f"Only {len(kept)} of {len(claims)} generated sentences are supported "
                        "by the passages")
    citations = [Citation.from_passage(i + 1, p) for i, p in enumerate(passages)]
    for c in kept:
        for n, span in c.spans.items():
            if span not in citations[n - 1].spans:
                citations[n - 1].spans.append(span)
    answer = Answer(question, compose_checked(kept), False, name, citations, {},
                    sentences=[_sentence(c) for c in checked])
    dropped = len(claims) - len(kept)
    invalid = sum(len(c.invalid) for c in checked)
    if dropped or invalid:
        answer.notice = (f"Removed {dropped} unsupported sentence(s) and {invalid} citation "
                         "number(s) matching no passage.")
    return answer


def _label(text: str) -> bool:
    """A heading-like fragment ("Building Trust:") that a small model copies from the prompt."""
    return opens_list(text) and len(text.split()) <= 6


def _sentence(c: Checked) -> Sentence:
    return Sentence(c.text, c.citations, c.verified, dropped=not c.verified,
                    reattributed=c.reattributed)


def compose_checked(kept: list[Checked]) -> str:
    """Verified sentences with their numbers; list items on their own lines."""
    lines: list[str] = []
    for c in kept:
        piece = c.text.rstrip() + " " + "".join(f"[{n}]" for n in c.citations)
        if c.list_item or not lines or lines[-1].startswith("- "):
            lines.append(f"- {piece}" if c.list_item else piece)
        else:
            lines[-1] += " " + piece
    return "\n".join(lines)
