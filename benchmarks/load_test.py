"""Load test of the served chat page: concurrent sessions against real `playbook serve`
replicas sharing one real Chroma server, with a re-ingest during the load, through each door:
the Gradio `ask` endpoint (gradio_client) and the REST API (`POST /api/ask`, httpx).

    .venv/bin/python -m benchmarks.load_test                  # 20 sessions x 10 questions, both
    .venv/bin/python -m benchmarks.load_test --door rest --sessions 5 --questions 3 --replicas 1

What it does, all on 127.0.0.1, every process started here and killed by pid:
1. starts `chroma run` on a tmp dir and ingests a tmp copy of the content with `playbook ingest`;
2. starts `--replicas` `playbook serve` processes on that Chroma server;
3. asks every question once, one at a time, on each replica: the single-user answers (the
   replicas must agree exactly);
4. for each `--door` in turn (same servers): runs `--sessions` concurrent sessions (one client
   each, spread over the replicas), each asking `--questions` questions, while `playbook ingest
   --rebuild` builds and swaps in a new generation; sessions keep asking until the swap has
   happened, so requests straddle it;
5. prints, per door, errors, answers differing from the single-user ones (asked through Gradio,
   so the REST answers are also checked against the other door), p50/p95/max latency and the
   throughput, as text and as one JSON line. A partial index would show up as a differing answer.
The answerer is the default (extractive, deterministic). Figures measured on a shared machine
are noisy: say so when quoting them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.load_run import (
    DOORS,
    SwapWatcher,
    in_flight_at,
    report,
    run_load,
    single_user_answers,
)
from benchmarks.processes import ROOT, env_for, ingest, start_chroma, start_serve, stop

DEFAULT_CONTENT = ROOT / "tests" / "fixtures" / "playbook"
QUESTIONS = [
    "How do I approach a tribal team?",
    "What should a code review focus on?",
    "How soon should a new engineer ship something?",
    "How do I build trust with a team that does not trust me?",
    "Who reviews a pull request?",
    "What happens in the first week of onboarding?",
    "Should I commiserate with a frustrated team?",
    "How big should a pull request be?",
    "What does a new hire need on day one?",
    "Why does leadership transparency matter?",
]


def main(argv: list[str] | None = None) -> int:
    """Run the whole scenario and print the figures (one line per door, then one JSON line)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--questions", type=int, default=10, help="questions per session")
    parser.add_argument("--replicas", type=int, default=2, help="`playbook serve` processes")
    parser.add_argument("--content", type=Path, default=DEFAULT_CONTENT)
    parser.add_argument("--no-reingest", action="store_true", help="skip the re-ingest")
    parser.add_argument("--door", default="both",
                        help="gradio (the `ask` endpoint), rest (POST /api/ask), both (= gradio,"
                             "rest) or a comma-separated order such as rest,gradio")
    parser.add_argument("--no-update", action="store_true",
                        help="do not write benchmarks/results/load.json and BENCHMARKS.md rows")
    args = parser.parse_args(argv)
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    doors = DOORS if args.door == "both" else tuple(args.door.split(","))
    if not doors or any(d not in DOORS for d in doors):
        parser.error(f"--door: choose from {', '.join(DOORS)}, both, or a comma-separated list")
    figures = scenario(args.content, args.sessions, args.questions, args.replicas,
                       reingest=not args.no_reingest, doors=doors)
    ok = figures["replicas_agree"]
    for door, row in figures["doors"].items():
        print(f"{door}: {row['requests']} requests from {args.sessions} sessions on "
              f"{args.replicas} replica(s): {row['errors']} errors, {row['mismatches']} answers "
              f"differing from single-user; p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms, "
              f"max {row['max_ms']} ms, {row['throughput_rps']} req/s; re-ingest swapped "
              f"{row['generations']} with {row['in_flight_at_swap']} requests in flight.")
        ok = ok and row["errors"] == row["mismatches"] == 0
    print(f"replicas agree: {figures['replicas_agree']}")
    from benchmarks.common import emit

    emit("load", figures, benchmark_rows(figures), update=not args.no_update)
    return 0 if ok else 1


DOOR_NAMES = {"gradio": "Gradio `ask` endpoint (gradio_client)",
              "rest": "REST `POST /api/ask` (httpx)"}


def benchmark_rows(figures: dict[str, Any]) -> list[Any]:
    """One BENCHMARKS.md row per door."""
    from benchmarks.common import Row, status

    rows = []
    for door, row in figures["doors"].items():
        clean = row["errors"] == row["mismatches"] == 0 and row["replicas_agree"]
        rows.append(Row(
            figure=f"load, {DOOR_NAMES.get(door, door)}: {row['sessions']} concurrent sessions "
                   f"× {row['questions_per_session']} questions, {row['replicas']} replicas, "
                   "re-ingest midway",
            measured=f"{row['requests']} requests, {row['errors']} errors, {row['mismatches']} "
                     f"answers differing; p50 {row['p50_ms'] / 1000:.2f} s, p95 "
                     f"{row['p95_ms'] / 1000:.2f} s, max {row['max_ms'] / 1000:.2f} s; "
                     f"{row['throughput_rps']} req/s; {row['in_flight_at_swap']} in flight at "
                     "the swap",
            target="0 errors, answers = single-user",
            status=status(clean, f"{row['errors']} errors, {row['mismatches']} differing"),
        ))
    return rows


def scenario(
    content: Path, sessions: int, questions: int, replicas: int, reingest: bool = True,
    chroma_url: str | None = None, doors: tuple[str, ...] = ("gradio",),
) -> dict[str, Any]:
    """Steps 1-5 of the module docstring; starts and stops everything. Returns the first door's
    figures at the top level, every door's under "doors"."""
    from rag.settings import Settings

    base = Path(tempfile.mkdtemp(prefix="playbook-load-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        if chroma_url is None:
            chroma, chroma_url = start_chroma(base)
            procs.append(chroma)
        prefix = f"load{os.getpid()}"
        env = env_for(chroma_url, PLAYBOOK_CHROMA_PREFIX=prefix)
        shutil.copytree(content, base / "content")
        ingest(base / "content", base / "index", env)
        urls = []
        for n in range(replicas):
            proc, url = start_serve(base / "content", base / "index", env, base / f"serve{n}.log")
            procs.append(proc)
            urls.append(url)
        expected = single_user_answers(urls[0], QUESTIONS)
        agree = all(single_user_answers(u, QUESTIONS) == expected for u in urls[1:])
        settings = Settings(index_dir=base / "index", chroma_url=chroma_url, chroma_prefix=prefix)
        shared = {"sessions": sessions, "questions_per_session": questions,
                  "replicas": replicas, "replicas_agree": agree}
        rows = {}
        for door in doors:
            rebuild = (lambda: ingest(base / "content", base / "index", env, "--rebuild")) \
                if reingest else None
            rows[door] = {**shared, "door": door, **door_run(
                urls, expected, settings, sessions, questions, rebuild, door)}
        return {**rows[doors[0]], "doors": rows}
    finally:
        for proc in reversed(procs):
            stop(proc)
        shutil.rmtree(base, ignore_errors=True)


def door_run(
    urls: list[str], expected: dict[str, str], settings: Any, sessions: int, questions: int,
    rebuild: Callable[[], Any] | None, door: str,
) -> dict[str, Any]:
    """One load run through one door, with `rebuild` (a re-ingest) swapping the index midway."""
    watcher = SwapWatcher(settings)
    failures: list[BaseException] = []

    def run_rebuild() -> None:
        try:
            assert rebuild is not None
            rebuild()
        except BaseException as exc:  # reported after the load
            failures.append(exc)

    job = threading.Thread(target=run_rebuild)
    if rebuild is not None:
        job.start()

    def keep_going() -> bool:
        return rebuild is not None and not failures and watcher.keep_going()

    result = run_load(urls, expected, sessions, questions, keep_going=keep_going, door=door)
    if rebuild is not None:
        job.join()
    watcher.close()
    if failures:
        raise failures[0]
    return report(result, {
        "generations": f"{watcher.first}->{watcher.last}",
        "in_flight_at_swap": in_flight_at(result, watcher.swapped_at),
        "error_samples": result.errors[:3], "mismatch_samples": result.mismatches[:3],
    })


if __name__ == "__main__":
    sys.exit(main())
