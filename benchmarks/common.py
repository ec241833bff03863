"""Shared helpers for the benchmark scripts: timing, conditions, JSON output, BENCHMARKS.md rows.

Every script prints one JSON object and (unless --no-update) replaces its own rows of the table
in BENCHMARKS.md. A row is keyed by its figure name; rows of other scripts are left alone.
"""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
RESULTS = ROOT / "benchmarks" / "results"
CWE = ROOT.parent / "shared" / "corpora" / "cwe-playbook"
PYTHON = sys.executable
TABLE_START = "<!-- figures:start -->"
TABLE_END = "<!-- figures:end -->"
HEADER = (
    "| figure | measured | target | status | command | date (UTC) |\n"
    "|---|---|---|---|---|---|"
)


@dataclass
class Row:
    """One line of the figures table."""

    figure: str
    measured: str
    target: str = ""
    status: str = ""  # "met", "not met: <gap and limit>", "" (no target)
    command: str = ""


def command_line() -> str:
    """How this script was invoked, for the table's 'command' column."""
    script = Path(sys.argv[0]).resolve()
    args = " ".join(shlex.quote(a) for a in sys.argv[1:])
    if script.parent == ROOT / "benchmarks":
        return f"python -m benchmarks.{script.stem} {args}".strip()
    return f"python {script} {args}".strip()


def conditions() -> dict[str, Any]:
    """What the machine was doing: cores, load averages, date (figures are noisy under load)."""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
    }


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def cpu_timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds of this process, result) of one call: on a shared machine
    the CPU seconds move less with the others' load than the wall time does."""
    started, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - started, time.process_time() - cpu, result


def median(values: Sequence[float]) -> float:
    """The median (0.0 for no values)."""
    return float(statistics.median(values)) if values else 0.0


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (nearest rank on sorted values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return float(ordered[index])


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child_peak_rss(argv: list[str], env: dict[str, str] | None = None,
                       timeout: float = 3600) -> tuple[float, float, str]:
    """Run a command in a fresh process; (wall seconds, its peak RSS in MB, stdout).

    A small wrapper process runs the command and reports the child's ru_maxrss, so earlier
    children of this process do not mix into the figure.
    """
    wrapper = (
        "import resource, subprocess, sys, time, json\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "wall = time.perf_counter() - t\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "sys.stderr.write(p.stderr)\n"
        "print(json.dumps({'wall': wall, 'rss': rss, 'rc': p.returncode, 'out': p.stdout}))\n"
    )
    done = subprocess.run([PYTHON, "-c", wrapper, *argv], capture_output=True, text=True,
                          env=env, timeout=timeout, check=False)
    data = json.loads(done.stdout.strip().splitlines()[-1])
    if data["rc"] != 0:
        raise RuntimeError(f"{argv[:4]} failed ({data['rc']}): {done.stderr[-2000:]}")
    return float(data["wall"]), float(data["rss"]), str(data["out"])


def dir_size_mb(folder: Path) -> float:
    """Bytes on disk under a folder, in MB (apparent sizes of regular files)."""
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return total / 1e6


def emit(name: str, result: dict[str, Any], rows: list[Row], update: bool = True) -> None:
    """Print the JSON result, save it under benchmarks/results/, and update BENCHMARKS.md."""
    result = {"benchmark": name, "conditions": conditions(), "command": command_line(), **result}
    text = json.dumps(result, indent=1, default=str)
    print(text)
    if not update:
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(text + "\n", encoding="utf-8")
    for row in rows:
        row.command = row.command or command_line()
    update_table(rows, result["conditions"]["date"][:16].replace("T", " "))


def update_table(rows: list[Row], date: str, path: Path = BENCHMARKS_MD) -> None:
    """Replace (or append) these figures' rows in the table between the markers."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if TABLE_START not in text:
        text = text.rstrip() + f"\n\n{TABLE_START}\n{HEADER}\n{TABLE_END}\n"
    head, rest = text.split(TABLE_START, 1)
    body, tail = rest.split(TABLE_END, 1)
    lines = [ln for ln in body.strip().splitlines() if ln.startswith("|")][2:]
    table = {_cell(ln, 0): ln for ln in lines}
    for row in rows:
        cells = [row.figure, row.measured, row.target, row.status, f"`{row.command}`", date]
        table[row.figure] = "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"
    ordered = [table[k] for k in table]
    path.write_text(
        f"{head}{TABLE_START}\n{HEADER}\n" + "\n".join(ordered) + f"\n{TABLE_END}{tail}",
        encoding="utf-8",
    )


def _cell(line: str, index: int) -> str:
    cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
    return cells[index].strip().replace("\\|", "|") if len(cells) > index else ""


def status(ok: bool, gap: str = "") -> str:
    """'met' or 'not met: <gap>'."""
    return "met" if ok else f"not met: {gap}".rstrip(": ")
