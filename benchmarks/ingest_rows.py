"""The BENCHMARKS.md rows of `benchmarks.bench_ingest` (its result dict in words)."""

from __future__ import annotations

from typing import Any

from benchmarks.common import Row, status


def rows_for(label: str, result: dict[str, Any]) -> list[Row]:
    """The BENCHMARKS.md rows of one run."""
    full, re_, cli = result["full"], result.get("reingest", {}), result.get("cli", {})
    tag = label.split("-")[0] if label.startswith(("cwe", "18f")) else "synthetic"
    raw_name = "the default's own model" if full.get("raw") == "default" else "raw ST.encode"
    rows = []
    for runtime, r in full["runtimes"].items():
        ratio = r["ratio_to_raw"]
        ndcg = result.get("ndcg", {}).get(runtime)
        quality = f"; dev nDCG@10 dense {ndcg['dense']}, hybrid {ndcg['hybrid']}" if ndcg else ""
        if runtime == "torch" or full.get("raw") == "default":
            target, state = "≥ 0.9 × raw", status(ratio >= 0.9, "see notes")
        else:
            target, state = "≥ 1.5 × torch pipeline, ≤ 0.5 nDCG loss", _against_torch(
                runtime, result)
        rows.append(Row(
            f"ingest throughput, {tag}, {runtime}",
            f"{r['chunks_per_s']} chunks/s, {r['mb_per_s']} MB/s, {r.get('sentences', 0)} "
            f"sentence vectors{_alone(runtime, r)}; {ratio} × {raw_name}{_cpu(r)} "
            f"({full['raw_chunks_per_s']} chunks/s, {full['chunks']} chunks){quality}",
            target, state,
        ))
    if re_:
        rows.append(Row(f"no-op re-ingest, {tag}",
                        f"{re_['noop_seconds']} s = {100 * re_['noop_ratio']:.2f}% of full",
                        "≤ 2% of full", status(re_["noop_ratio"] <= 0.02, "see notes")))
        rows.append(Row(f"one-article-changed re-ingest, {tag}",
                        f"{re_['one_changed_seconds']} s ({re_['one_changed_embedded']} chunks "
                        f"re-embedded); BM25 update {1000 * re_['bm25_update_seconds']:.1f} ms vs "
                        f"rebuild {1000 * re_['bm25_rebuild_seconds']:.0f} ms",
                        "BM25 updated, not rebuilt",
                        status(re_["bm25_update_seconds"] < re_["bm25_rebuild_seconds"])))
    if cli:
        rows.append(Row(f"`playbook ingest` new process, {tag}",
                        f"full {cli['full_wall_s']} s ({cli['articles']} articles, "
                        f"{cli['chunks']} chunks, {len(cli['skipped'])} skipped); second run "
                        f"{cli['noop_wall_s']} s = {100 * cli['noop_ratio']:.1f}%, "
                        f"{cli['second_unchanged']} unchanged",
                        "second run < 5% of first", status(cli["noop_ratio"] < 0.05, "see notes")))
        rows.append(Row(f"ingest peak RSS, {tag}", f"{cli['full_peak_rss_mb']} MB "
                        f"({cli['chunks']} chunks, `playbook ingest` process)", "", ""))
    return rows


def _alone(runtime: str, r: dict[str, Any]) -> str:
    """For late chunking: how many sentences the sequence limit left to encode on their own."""
    return f" ({r.get('sentences_alone', 0)} encoded alone)" if runtime.endswith("late") else ""


def _cpu(r: dict[str, Any]) -> str:
    """The same ratio in CPU seconds of the process, when measured."""
    return f" (CPU seconds: {r['cpu_ratio_to_raw']} ×)" if "cpu_ratio_to_raw" in r else ""


def _against_torch(runtime: str, result: dict[str, Any]) -> str:
    """Issue 6's bar for an ONNX runtime: ≥ 1.5 × torch's chunks/s in the same run and at most
    0.5 point lower dev nDCG@10, dense and hybrid (status text with the measured gaps)."""
    runs, ndcg = result["full"]["runtimes"], result.get("ndcg", {})
    if "torch" not in runs:
        return ""
    speed = runs[runtime]["chunks_per_s"] / runs["torch"]["chunks_per_s"]
    gaps = [] if speed >= 1.5 else [f"{speed:.2f} × torch"]
    if runtime in ndcg and "torch" in ndcg:
        loss = max(ndcg["torch"][m] - ndcg[runtime][m] for m in ("dense", "hybrid"))
        gaps += [f"nDCG@10 −{loss:.2f}"] if loss > 0.5 else []
    else:
        gaps.append("no nDCG yet")
    return status(not gaps, ", ".join(gaps)) + (f" ({speed:.2f} × torch)" if not gaps else "")
