"""Chat handlers: stream an answer from `rag.ask` into the Chatbot, and record feedback.

Each turn adds exactly two messages (question, answer), so the answer at message index i has
its record at `records[i // 2]`: {"id": answer id, "answer": Answer.to_json()} or None when the
turn ended in an error.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Iterator
from typing import Any

from rag.errors import PlaybookError
from rag.settings import Settings
from ui.render import (
    PENDING,
    answer_html,
    error_html,
    question_html,
    streaming_html,
    where_parts,
)

log = logging.getLogger("playbook.ui")

Record = dict[str, Any] | None
Chat = list[dict[str, Any]]


def clean_text(value: Any) -> str:
    """`value` as text that can be encoded: lone surrogates (which a JSON client can send as
    "\\ud800") become U+FFFD, or the answer could not be sent back at all."""
    text = str(value)
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def session_settings(settings: Settings, llm: str | None, k: float | None) -> Settings:
    """The server's settings with this page's answerer and k."""
    update: dict[str, Any] = {}
    if llm:
        update["llm"] = llm
    if k:
        update["top_k"] = int(k)
    return settings.model_copy(update=update) if update else settings


def history_of(records: list[Record]) -> list[tuple[str, str]]:
    """(question, answer) pairs of the finished turns, for follow-up questions."""
    return [
        (str(r["answer"]["question"]), str(r["answer"]["answer"])) for r in records if r
    ]


def _run_ask(
    question: str, settings: Settings, history: list[tuple[str, str]], out: queue.Queue[Any]
) -> None:
    from rag.api import ask

    try:
        answer = ask(question, settings, history=history, on_token=lambda t: out.put(("token", t)))
        out.put(("done", answer.to_json()))
    except PlaybookError as exc:
        out.put(("error", str(exc)))
    except Exception as exc:  # the page must answer with a sentence, not hang
        log.exception("answering failed")
        out.put(("error", f"Something went wrong while answering ({type(exc).__name__}: {exc})."))


def stream_answer(
    question: str, settings: Settings, history: list[tuple[str, str]]
) -> Iterator[tuple[str, Any]]:
    """Yield ("partial", text) as tokens arrive, then ("done", answer json) or ("error", msg)."""
    out: queue.Queue[Any] = queue.Queue()
    worker = threading.Thread(
        target=_run_ask, args=(question, settings, history, out), daemon=True
    )
    worker.start()
    text = ""
    while True:
        kind, value = out.get()
        if kind != "token":
            yield kind, value
            return
        text += value
        while True:  # coalesce tokens that queued up while the page was updating
            try:
                kind, value = out.get_nowait()
            except queue.Empty:
                break
            if kind != "token":
                yield "partial", text
                yield kind, value
                return
            text += value
        yield "partial", text


def respond(
    message: str, chat: Chat | None, records: list[Record] | None, settings: Settings,
    llm: str | None, k: float | None,
) -> Iterator[tuple[str, Chat, list[Record]]]:
    """The Chatbot submit handler: yields (textbox value, chat, records) as the answer grows."""
    chat, records = list(chat or []), list(records or [])
    message = clean_text(message or "")
    if not message.strip():
        yield "", chat, records
        return
    chat.append({"role": "user", "content": question_html(message.strip())})
    chat.append({"role": "assistant", "content": PENDING})
    yield "", chat, records
    run_settings = session_settings(settings, llm, k)
    for kind, value in stream_answer(message, run_settings, history_of(records)):
        if kind == "partial":
            chat[-1] = {"role": "assistant", "content": streaming_html(value)}
        elif kind == "done":
            chat[-1] = {"role": "assistant", "content": answer_html(value)}
            records.append({"id": uuid.uuid4().hex, "answer": value})
        else:
            chat[-1] = {"role": "assistant", "content": error_html(value)}
            records.append(None)
        yield "", chat, records


def citation_choices(record: Record) -> list[tuple[str, int]]:
    """(label, n) for every citation of an answer, for the "this source is wrong" marks."""
    if not record:
        return []
    out = []
    for cite in record["answer"].get("citations", []):
        where = " › ".join(where_parts(cite))
        out.append((f"[{cite.get('n')}] {where}", int(cite.get("n", 0))))
    return out


def pick_record(records: list[Record] | None, index: int | None) -> tuple[int | None, Record]:
    """The record an answer index points at; the latest answer when index is None."""
    records = records or []
    if index is None:
        index = len(records) - 1
    if 0 <= index < len(records):
        return index, records[index]
    return None, None
