"""The `playbook` command line: a thin shell over ingest.run and rag.ask.

Exit codes: 0 success, 1 user error (one sentence on stderr), 2 usage error, 130 interrupted.
Heavy modules are imported inside the commands that need them, so `--help` is instant.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, get_args

from rag.errors import PlaybookError
from rag.settings import AnswererName

ANSWERERS = list(get_args(AnswererName))  # the answerer registry's names (test_registries)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--content", type=Path, help="content folder (default: content/)")
    parser.add_argument("--index", type=Path, help="index folder (default: .playbook/)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(
        prog="playbook", description="Ask the team playbook; answers cite their passages."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="index the content folder (incremental, atomic)")
    _common(p)
    p.add_argument("--strict", action="store_true", help="fail on any unreadable article")
    p.add_argument("--rebuild", action="store_true", help="re-embed everything from scratch")
    p.add_argument("--json", action="store_true", help="print the report as JSON")

    p = sub.add_parser("ask", help="answer a question with cited passages")
    _common(p)
    p.add_argument("question", help="the question, in plain words")
    p.add_argument("--json", action="store_true", help="print the answer as one JSON object")
    p.add_argument("-k", type=int, help="passages to retrieve (default 5)")
    p.add_argument("--llm", choices=ANSWERERS, help="answerer to use")

    p = sub.add_parser("serve", help="open the chat page (Gradio) on http://127.0.0.1:7860")
    _common(p)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1; others need PLAYBOOK_AUTH)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")

    p = sub.add_parser("mcp", help="serve the playbook to MCP clients over stdio")
    _common(p)

    p = sub.add_parser("feedback", help="feedback given on the chat page")
    fsub = p.add_subparsers(dest="feedback_command", required=True)
    p = fsub.add_parser("export", help="write feedback as JSONL (candidate eval cases)")
    _common(p)
    p.add_argument("--out", type=Path, help="output file (default: standard output)")

    p = sub.add_parser("eval", help="run the evaluation suites; write results and a report")
    _common(p)
    p.add_argument("--suite", default="all",
                   help="playbook, cwe-dev, cwe-test, or a group: all (default), gate, cwe")
    p.add_argument("--out", type=Path, help="results folder (default: evals/results/)")
    p.add_argument("--llm", action="append", choices=ANSWERERS,
                   help="answerer(s) to run (repeatable; default: every available one)")
    p.add_argument("--beir", type=Path, metavar="DIR",
                   help="run a BEIR dataset folder (corpus.jsonl, queries.jsonl) instead")
    p.add_argument("--qrels", type=Path, metavar="FILE", help="qrels TSV for --beir")
    p.add_argument("--corpora", type=Path, help="folder holding cwe-playbook/ (default: "
                   "../shared/corpora beside the project)")
    p.add_argument("--cache", type=Path, help="index cache (default: .playbook-eval/)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument("--progress-every", type=float, default=5.0, metavar="SECONDS",
                   help="at most one 'question n of N, ETA' line per SECONDS (default 5)")
    _owner_commands(sub)
    return parser


def _owner_commands(sub: Any) -> None:
    """`gaps`, `stale` and `diff`: reports for the people who keep the playbook."""
    p = sub.add_parser("gaps", help="topics of refused, low-relevance and thumbs-down questions")
    _common(p)
    p.add_argument("--since", type=float, metavar="DAYS", help="only the last DAYS days")
    p.add_argument("--json", action="store_true", help="print the groups as JSON")
    p = sub.add_parser("stale", help="articles past their review date, most-cited first")
    _common(p)
    p.add_argument("--json", action="store_true", help="print the articles as JSON")
    p = sub.add_parser("diff", help="what a content change does to the answers")
    _common(p)
    p.add_argument("--base", required=True, metavar="DIR|GIT_REF",
                   help="the content before the change: a folder or a git ref")
    p.add_argument("--questions", type=Path, metavar="FILE",
                   help="questions (JSONL with \"question\" or one per line); default: the "
                   "evaluation datasets for this content, plus logged questions")
    p.add_argument("--format", choices=["markdown", "json"], default="markdown")
    p.add_argument("--fail-on", default="", metavar="refusal,citation",
                   help="exit 1 when questions are newly refused / citations moved or broke")
    p.add_argument("--cache", type=Path, default=Path(".playbook-diff"),
                   help="folder for the two indexes (default: .playbook-diff/)")


def settings_from(args: argparse.Namespace, **overrides: Any) -> Any:
    """Build Settings from the environment plus command-line overrides."""
    from rag.settings_load import load_settings

    values = {k: v for k, v in overrides.items() if v is not None}
    if getattr(args, "content", None) is not None:
        values["content_dir"] = args.content
    if getattr(args, "index", None) is not None:
        values["index_dir"] = args.index
    return load_settings(**values)


def cmd_ingest(args: argparse.Namespace) -> int:
    from ingest.pipeline import run

    settings = settings_from(args)
    show_bar = not args.json and sys.stderr.isatty()
    if show_bar:
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            task = bar.add_task("Embedding chunks", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            report = run(settings, strict=args.strict, rebuild=args.rebuild, progress=progress)
    else:
        report = run(settings, strict=args.strict, rebuild=args.rebuild)
    for item in report.skipped:
        print(f"warning: skipped {item['path']}: {item['error']}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        print(
            f"Indexed {report.articles} articles ({report.chunks} chunks) "
            f"in {report.seconds:.1f}s: "
            f"{report.added} added, {report.updated} updated, {report.removed} removed, "
            f"{report.unchanged} unchanged, {len(report.skipped)} skipped."
        )
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.api import ask
    from rag.render import print_answer, same_text, stream_printer

    settings = settings_from(args, top_k=args.k, llm=args.llm)
    # A model's draft streams to a terminal as it is generated; the checked answer follows
    # unless it is the same text. Piped output gets the checked answer only.
    stream = not args.json and settings.llm != "extractive" and sys.stdout.isatty()
    draft: list[str] = []
    printer = stream_printer()

    def on_token(piece: str) -> None:
        draft.append(piece)
        printer(piece)

    # Bytes that are not UTF-8 reach argv as lone surrogates, which no tokenizer accepts.
    question = args.question.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    answer = ask(question, settings, on_token=on_token if stream else None)
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False))
        return 0
    unchanged = stream and same_text("".join(draft), answer.answer)
    if stream:
        print("\n" if unchanged else "\n\nChecked answer:")
    print_answer(answer, show_text=not unchanged)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from ui.listen import check_serve

    settings = settings_from(args)
    check_serve(settings, args.host, args.port)  # refuse before the seconds of importing Gradio
    from ui.app import serve

    serve(settings, host=args.host, port=args.port)
    return 0


def cmd_mcp(args: argparse.Namespace) -> int:
    from rag.mcp_server import run_stdio

    run_stdio(settings_from(args))
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    from rag.feedback import FeedbackStore

    store = FeedbackStore(settings_from(args).index_path)
    if args.out is None:
        count = store.export(sys.stdout)
    else:
        try:
            out = args.out.open("w", encoding="utf-8")
        except OSError as exc:
            raise PlaybookError(f"Cannot write {args.out}: {_reason(exc)}.") from exc
        with out:
            count = store.export(out)
    print(f"Exported {count} feedback rows from {store.path}.", file=sys.stderr)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from evals.cli import run_command

    return run_command(args, settings_from(args))


def cmd_gaps(args: argparse.Namespace) -> int:
    from rag import gaps

    groups = gaps.gaps(settings_from(args), args.since)
    if args.json:
        print(json.dumps(gaps.to_json(groups), ensure_ascii=False))
    else:
        gaps.print_table(groups, args.since)
    return 0


def cmd_stale(args: argparse.Namespace) -> int:
    from rag.freshness import print_stale, stale_articles

    articles = stale_articles(settings_from(args))
    if args.json:
        print(json.dumps(articles, ensure_ascii=False))
    else:
        print_stale(articles)
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from evals import diff
    from evals.diff_report import to_markdown
    from ui.owners_cli import diff_questions

    wrong = set(filter(None, args.fail_on.split(","))) - set(diff.FAIL_ON)
    if wrong:
        print(f"error: --fail-on takes {', '.join(diff.FAIL_ON)}, not {', '.join(wrong)}.",
              file=sys.stderr)
        return 2
    settings = settings_from(args)
    questions = diff_questions(settings, args.questions)
    def progress(done: int, total: int) -> None:  # a line per 10 questions: CI logs show life
        if done % 10 == 0 or done == total:
            print(f"diff: {done}/{total} questions answered", file=sys.stderr, flush=True)

    report = diff.run_diff(settings, args.base, questions, args.cache.resolve(), progress)
    text = to_markdown(report) if args.format == "markdown" else json.dumps(
        report.to_json(), ensure_ascii=False)
    print(text.rstrip("\n"))
    return 1 if report.failed(args.fail_on.split(",")) else 0


COMMANDS = {"ingest": cmd_ingest, "ask": cmd_ask, "serve": cmd_serve, "feedback": cmd_feedback,
            "eval": cmd_eval, "mcp": cmd_mcp}
COMMANDS.update(gaps=cmd_gaps, stale=cmd_stale, diff=cmd_diff)  # for content owners


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `playbook` console script."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except PlaybookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted; the index is unchanged.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `playbook ask x | head -1`: the reader left; stop quietly
        _silence_stdout()
        return 0
    except OSError as exc:  # a read-only or full disk, a missing folder: name the file
        where = f" {exc.filename}" if exc.filename else ""
        hint = ""
        if isinstance(exc, PermissionError):
            hint = " (make its folder writable, or point --index at another folder)"
        print(f"error: cannot use{where}: {_reason(exc)}{hint}.", file=sys.stderr)
        return 1


def _reason(exc: OSError) -> str:
    """'permission denied', 'no such file or directory'... (the OS's words, lower-case)."""
    text = exc.strerror or exc.__class__.__name__
    return text[0].lower() + text[1:]


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush raises no second error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (tests capturing output)
        pass


if __name__ == "__main__":
    sys.exit(main())
