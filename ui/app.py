"""The Gradio chat page: `build_app(settings)` and `serve(settings, host, port)`.

Only presentation: answers come from `rag.ask`, rebuilds from `ingest.run`; the page adds
streaming, sources, feedback and an article view. The API endpoint `ask` returns the same JSON as
`playbook ask --json`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any, get_args

import gradio as gr

from rag import questionlog
from rag.errors import PlaybookError
from rag.feedback import FeedbackStore
from rag.settings import AnswererName, Settings
from ui import chat as chatmod
from ui.article import article_html
from ui.feedback_panel import feedback_section
from ui.gaps import mount_gaps
from ui.guard import Guards, LoginThrottle
from ui.listen import check_serve
from ui.reingest import ReingestJob
from ui.status import available_answerers, example_questions, index_status_html
from ui.style import CSS

HEADER = (
    '<div id="pb-header"><h1>Playbook Q&amp;A</h1><p>Ask the team playbook. Every claim in an '
    "answer cites [n] the passage it comes from; the passages are shown under the answer.</p></div>"
)
PLACEHOLDER = "Ask a question about the playbook, e.g. one of the examples below."


def _api_ask(settings: Settings) -> Any:

    def ask(question: str, k: int = 0, llm: str = "",
            history: list[list[str]] | None = None) -> dict[str, Any]:
        """Answer a question from the playbook: the JSON of `playbook ask --json`."""
        from rag.api import ask as rag_ask

        if llm and llm not in get_args(AnswererName):
            names = ", ".join(get_args(AnswererName))
            raise gr.Error(f"Unknown answerer '{llm}': choose one of {names}.")
        pairs = [
            (chatmod.clean_text(t[0]), chatmod.clean_text(t[1]))
            for t in (history or []) if isinstance(t, list | tuple) and len(t) >= 2
        ]
        run = chatmod.session_settings(settings, llm or None, max(0, min(int(k or 0), 50)))
        try:
            return rag_ask(chatmod.clean_text(question), run, history=pairs).to_json()
        except PlaybookError as exc:
            raise gr.Error(str(exc)) from exc

    return ask


def _side_panel(
    settings: Settings, job: ReingestJob, guards: Guards, session: Any
) -> tuple[Any, Any]:

    gr.Markdown("### Index")
    status = gr.HTML(index_status_html(settings), elem_id="pb-index-status")
    refresh = gr.Button("Refresh", size="sm")
    gr.Markdown("### Answering")
    llm = gr.Radio(available_answerers(settings), value=settings.llm, label="Answerer",
                   elem_id="pb-llm")
    k = gr.Slider(1, 20, value=settings.top_k, step=1, label="Passages retrieved (k)",
                  elem_id="pb-k")
    gr.Markdown("### Content")
    button = gr.Button("Re-ingest content", elem_id="pb-reingest")
    message = gr.Markdown(elem_id="pb-reingest-status")

    def reingest(token: Any, request: gr.Request) -> Iterator[tuple[str, str]]:
        guards.check(token, request)
        if not job.start():
            yield "A re-ingest is already running.", index_status_html(settings)
        while job.state.running:
            yield job.status_text(), index_status_html(settings)
            time.sleep(0.5)
        yield job.status_text(), index_status_html(settings)

    button.click(reingest, [session], [message, status], concurrency_limit=None,
                 api_visibility="private")
    refresh.click(lambda: index_status_html(settings), None, status, api_visibility="private")
    return llm, k


def build_app(settings: Settings) -> Any:
    """The Blocks app for these settings (not launched)."""

    store = FeedbackStore(settings.index_path, settings.feedback_comment_chars)
    job = ReingestJob(settings)
    guards = Guards(settings)
    with gr.Blocks(title="Playbook Q&A") as demo:
        records = gr.State([])
        session = gr.State(None)  # the page's token, set by its load event (ui/guard.py)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=480):
                gr.HTML(HEADER)
                chatbot = gr.Chatbot(
                    elem_id="pb-chat", height="68vh", min_height=420, sanitize_html=True,
                    allow_tags=False, render_markdown=False, latex_delimiters=[], buttons=["copy"],
                    feedback_options=("Like", "Dislike"), placeholder=PLACEHOLDER,
                    show_label=False,
                )
                with gr.Row():
                    # disabled until the page's load event has stored its token (below): a
                    # question sent before that would be refused as not from the page
                    box = gr.Textbox(placeholder="Ask the playbook…", show_label=False,
                                     scale=8, elem_id="pb-question", interactive=False)
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="pb-ask",
                                     interactive=False)
                if questionlog.notice(settings):
                    gr.Markdown(questionlog.notice(settings), elem_id="pb-logged")
                examples = example_questions(settings)
                if examples:
                    gr.Examples([[q] for q in examples], inputs=[box], label="Try asking")
                latest, panel = feedback_section(store, guards, chatbot, records, session)
            with gr.Column(scale=1, min_width=260, elem_id="pb-side"):
                llm, k = _side_panel(settings, job, guards, session)

        def respond(message: str, history: Any, recs: Any, name: str, kk: float, token: Any,
                    request: gr.Request) -> Any:
            guards.check(token, request)
            yield from chatmod.respond(message, history, recs, settings, name, kk)

        def issue(request: gr.Request) -> tuple[str | None, Any, Any]:
            """The session's token, then the question box and button enabled."""
            return (guards.tokens.issue(request), gr.Textbox(interactive=True),
                    gr.Button(interactive=True))

        focus = "() => document.querySelector('#pb-question textarea')?.focus()"
        demo.load(issue, None, [session, box, send], api_visibility="private").then(
            None, None, None, js=focus, api_visibility="private"
        )
        for trigger in (box.submit, send.click):
            trigger(
                respond, [box, chatbot, records, llm, k, session], [box, chatbot, records],
                concurrency_limit=8, api_visibility="private",
            ).then(latest, [records], panel, api_visibility="private")
        # The trash button empties the chat: forget its answers too (records follow messages).
        chatbot.clear(lambda: [], None, records, api_visibility="private").then(
            latest, [records], panel, api_visibility="private"
        )
        gr.api(_api_ask(settings), api_name="ask", concurrency_limit=8)
    _article_page(demo, settings)
    if settings.auth is not None:  # only signed-in users see what others asked
        mount_gaps(demo, settings)
    return demo


def _article_page(demo: Any, settings: Settings) -> None:
    """`/article?src=<path>&anchor=<heading>`: the whole article, scrolled to the heading."""

    with demo.route("Article", "/article", show_in_navbar=False):
        view = gr.HTML(elem_id="pb-article")

        def load(request: gr.Request) -> str:
            params = dict(request.query_params) if request else {}
            return article_html(settings, params.get("src", ""), params.get("anchor", ""))

        scroll = (
            "() => { const a = new URLSearchParams(location.search).get('anchor');"
            " const el = a && document.getElementById(a); if (el) el.scrollIntoView(); }"
        )
        demo.load(load, None, view, api_visibility="private").then(
            None, None, None, js=scroll, api_visibility="private"
        )


def warm_up(settings: Settings) -> threading.Thread:
    """Answer one question in the background so the first real one is quick."""

    def run() -> None:
        from rag.api import ask

        started = time.perf_counter()
        try:  # a whole question: also loads the answerer and its per-index calibration
            ask("How does the playbook help a team?", settings.model_copy(
                update={"log_questions": False}))  # not a user's question
        except Exception as exc:  # no index yet, or a broken one: the page says so when asked
            print(f"Warm-up skipped: {exc}", flush=True)
            return
        seconds = time.perf_counter() - started
        print(f"Ready: index, embedding model and answerer loaded in {seconds:.1f}s", flush=True)

    thread = threading.Thread(target=run, name="warm-up", daemon=True)
    thread.start()
    return thread


def serve(
    settings: Settings, host: str = "127.0.0.1", port: int = 7860, *, block: bool = True
) -> Any:
    """Start the chat page; refuses a non-loopback host without PLAYBOOK_AUTH.

    With block=False it returns the running Blocks (call `.close()` to stop it).
    """
    settings = questionlog.serving(settings)  # the page logs questions unless told not to
    auth = check_serve(settings, host, port)
    warm_up(settings)
    demo = build_app(settings)
    theme = gr.themes.Soft(
        primary_hue="indigo", font=["system-ui", "sans-serif"],
        font_mono=["ui-monospace", "monospace"],
    )
    print(f"Playbook Q&A: http://{host}:{port}  (Ctrl-C to stop)", flush=True)
    from starlette.middleware import Middleware

    from ui.rest import server_app_kwargs  # the REST API (/api) and MCP (/mcp) on this server

    app_kwargs = server_app_kwargs(settings, host)
    # Each failed login from an address doubles that address's wait (ui/guard.py).
    app_kwargs["middleware"] = [Middleware(LoginThrottle, max_delay=settings.login_delay_max)]
    demo.queue(default_concurrency_limit=4).launch(
        app_kwargs=app_kwargs,
        server_name=host, server_port=port, auth=auth, share=False, ssr_mode=False,
        show_error=False, quiet=True, theme=theme, css=CSS, footer_links=["api"],
        prevent_thread_lock=not block,
    )
    return demo
