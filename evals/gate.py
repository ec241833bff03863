"""The CI gate: run the gate suites and fail when a metric crosses its committed threshold.

    python -m evals.gate [--thresholds evals/thresholds.toml] [--out DIR]

Thresholds live in evals/thresholds.toml: `[min]` metrics must stay at or above their value,
`[max]` ones (false refusals, errors) at or below. Keys name a flattened result,
"<suite>.retrieval.<retriever>.<metric>" or "<suite>.answers.<answerer>.<metric>", and
"checker.<split>.<category>.<metric>" for the citation checker graded by human labels.
The gate runs the extractive answerer only (the local LLM is minutes slower; `playbook eval`
runs it).
"""

from __future__ import annotations

import argparse
import sys
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.checker_report import add_checker, flatten_checker
from rag.errors import PlaybookError

THRESHOLDS = Path(__file__).resolve().parent / "thresholds.toml"
GATE_ANSWERERS = ("extractive",)


@dataclass
class Check:
    """One threshold compared with its measured value."""

    key: str
    bound: str  # "min" or "max"
    threshold: float
    value: float | None

    @property
    def ok(self) -> bool:
        if self.value is None:
            return False
        return self.value >= self.threshold if self.bound == "min" else self.value <= self.threshold


def flatten(results: Mapping[str, Any]) -> dict[str, float]:
    """Every summary metric of a results dict under its dotted key."""
    flat: dict[str, float] = {}
    for suite, data in results.get("suites", {}).items():
        for scope in ("retrieval", "answers"):
            for name, metrics in data.get(scope, {}).items():
                for metric, value in metrics.items():
                    flat[f"{suite}.{scope}.{name}.{metric}"] = float(value)
    return flat


def load_thresholds(path: Path = THRESHOLDS) -> dict[str, dict[str, float]]:
    """{"min": {key: value}, "max": {key: value}} from a TOML file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PlaybookError(f"Cannot read thresholds from {path} ({exc}).") from exc
    extra = data.get("checker", {})  # the [checker.min] / [checker.max] block (checker.* keys)
    return {b: {k: float(v) for k, v in {**data.get(b, {}), **extra.get(b, {})}.items()}
            for b in ("min", "max")}


def check(results: Mapping[str, Any], thresholds: Mapping[str, Mapping[str, float]],
          suites: Sequence[str] | None = None) -> list[Check]:
    """Compare results with thresholds (only those of `suites`, when given)."""
    flat = flatten(results) | flatten_checker(results)
    checks = []
    for bound in ("min", "max"):
        for key, threshold in sorted(thresholds.get(bound, {}).items()):
            if suites is not None and key.split(".", 1)[0] not in (*suites, "checker"):
                continue
            checks.append(Check(key, bound, threshold, flat.get(key)))
    return checks


def format_checks(checks: Sequence[Check]) -> str:
    """A plain-text table, failures marked."""
    lines = []
    for c in checks:
        shown = "missing" if c.value is None else f"{c.value:.3f}"
        sign = ">=" if c.bound == "min" else "<="
        mark = "ok  " if c.ok else "FAIL"
        lines.append(f"{mark} {c.key:<58} {shown:>8} {sign} {c.threshold:.3f}")
    return "\n".join(lines)


def run_gate(settings: Any, thresholds: Path = THRESHOLDS, out: Path | None = None,
             **kwargs: Any) -> tuple[list[Check], dict[str, Any]]:
    """Run the gate suites with the extractive answerer and check them."""
    from evals.evaluate import run_eval, write_results
    from evals.suites import GROUPS

    results = run_eval("gate", settings, answerers=GATE_ANSWERERS, **kwargs)
    add_checker(results)  # the citation checker graded by human labels (checker.* keys)
    if out is not None:
        write_results(results, out, plots=False)
    return check(results, load_thresholds(thresholds), GROUPS["gate"]), results


def prepare(names: Sequence[str], settings: Any) -> int:
    """Build (or update) the cached indexes of the named suites; exit code 1 on a user error."""
    from evals.suites import build_index, resolve, suite_settings

    try:
        for suite in (s for name in names for s in resolve(name)):
            started = time.perf_counter()
            build_index(suite_settings(suite, settings))
            print(f"... {suite.name}: index ready ({time.perf_counter() - started:.0f} s)",
                  file=sys.stderr)
    except PlaybookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m evals.gate`; exit 1 when any check fails."""
    parser = argparse.ArgumentParser(prog="python -m evals.gate", description=__doc__)
    parser.add_argument("--thresholds", type=Path, default=THRESHOLDS)
    parser.add_argument("--out", type=Path, help="also write results.json and report.md here")
    parser.add_argument("--prepare", nargs="+", metavar="SUITE",
                        help="only bring these suites' cached indexes up to date, then exit "
                        "(the test command builds 18f-dev's while pytest runs)")
    args = parser.parse_args(argv)
    from rag.settings import Settings

    if args.prepare:
        return prepare(args.prepare, Settings.model_validate({}))

    try:
        checks, results = run_gate(Settings.model_validate({}), args.thresholds, args.out,
                                   progress=lambda m: print(f"... {m}", file=sys.stderr))
    except PlaybookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(format_checks(checks))
    failed = [c for c in checks if not c.ok]
    print(f"gate: {len(checks) - len(failed)}/{len(checks)} checks pass "
          f"({results['seconds']} s)")
    return 1 if failed or not checks else 0


if __name__ == "__main__":
    sys.exit(main())
