"""The feedback panel of the chat page: thumbs on each answer (the Chatbot's like buttons), a
comment and "this source is wrong" marks, saved through rag.feedback with the page's limits
(session token, comment cap, saves per client per minute: ui/guard.py)."""

from __future__ import annotations

from html import escape
from typing import Any

import gradio as gr

from rag.errors import PlaybookError
from rag.feedback import FeedbackStore
from ui import chat as chatmod
from ui.gaps import link_feedback
from ui.guard import Guards, client_address


def _feedback_target(record: chatmod.Record) -> str:
    if not record:
        return '<div id="pb-feedback-target" class="pb-muted">Ask a question first.</div>'
    question = escape(str(record["answer"].get("question", "")))
    return f'<div id="pb-feedback-target">On the answer to: <q>{question}</q></div>'


def _panel(records: list[chatmod.Record], index: int | None) -> tuple[Any, ...]:
    """Feedback panel values for the answer at `index` (latest when None)."""

    index, record = chatmod.pick_record(records, index)
    return (
        index,
        _feedback_target(record),
        gr.CheckboxGroup(choices=chatmod.citation_choices(record), value=[]),
        gr.Textbox(value=""),
        "",
    )


def feedback_section(
    store: FeedbackStore, guards: Guards, chatbot: Any, records: Any, session: Any
) -> Any:
    """Thumbs on each answer (the Chatbot's like buttons) plus a panel for comment and wrong
    sources; returns the function that points the panel at the latest answer."""

    with gr.Accordion("Feedback on an answer", open=True, elem_id="pb-feedback"):
        target = gr.HTML(_feedback_target(None))
        with gr.Row():
            up = gr.Button("Helpful", size="sm", elem_id="pb-up")
            down = gr.Button("Not helpful", size="sm", elem_id="pb-down")
        wrong = gr.CheckboxGroup(label="This source is wrong", choices=[], elem_id="pb-wrong")
        comment = gr.Textbox(label="Comment (optional)", lines=2, elem_id="pb-comment",
                             max_length=store.max_comment_chars)
        send = gr.Button("Send feedback", variant="secondary", elem_id="pb-send-feedback")
        status = gr.Markdown(elem_id="pb-feedback-status")
    selected = gr.State(None)
    panel = [selected, target, wrong, comment, status]

    def save(records: list[chatmod.Record], index: int | None, token: Any,
             request: gr.Request, **fields: Any) -> str:
        guards.check(token, request)
        index, record = chatmod.pick_record(records, index)
        if record is None:
            return "Ask a question first."
        if not guards.feedback.allow(client_address(request)):
            return "Too much feedback from this address in the last minute: try again shortly."
        try:
            store.record(record["id"], record["answer"], **fields)
        except PlaybookError as exc:
            return str(exc)
        if "rating" in fields:  # the question log keeps the thumbs with a link to this row
            link_feedback(store.path.parent, record["id"], record["answer"], fields["rating"])
        return "Thanks — feedback saved."

    def on_like(records: list[chatmod.Record], token: Any, data: gr.LikeData,
                request: gr.Request) -> tuple[Any, ...]:
        idx = data.index if isinstance(data.index, int) else data.index[0]
        rating = 1 if data.liked is True else -1 if data.liked is False else 0
        values = _panel(records, idx // 2)
        return (*values[:-1], save(records, idx // 2, token, request, rating=rating))

    def rate(value: int) -> Any:
        def handler(r: Any, i: Any, token: Any, request: gr.Request) -> str:
            return save(r, i, token, request, rating=value)
        return handler

    def send_panel(r: Any, i: Any, w: Any, c: Any, token: Any, request: gr.Request) -> str:
        marks = [int(x) for x in w or [] if str(x).isdigit()]
        return save(r, i, token, request, wrong=marks, comment=c or "")

    private: dict[str, Any] = {"api_visibility": "private"}  # page plumbing, not API
    chatbot.like(on_like, [records, session], panel, **private)
    up.click(rate(1), [records, selected, session], status, **private)
    down.click(rate(-1), [records, selected, session], status, **private)
    send.click(send_panel, [records, selected, wrong, comment, session], status, **private)
    return lambda records: _panel(records, None), panel
