"""The citation checker graded with late passage sentence vectors (issue 18, measurement only).

    python -m evals.checker_late --tables CACHE [--split dev|test] [--json]
    python -m evals.checker_late --tables CACHE --refit    # dev only

At ask time the checker (`rag.support.analyse`) reads each passage sentence's vector through
`rag.vector_cache.VECTORS`, which looks it up in the index's sentence table first: under
PLAYBOOK_SENTENCE_VECTORS=late those vectors are pooled from the chunk's own model pass, not the
sentence alone's, so the checker's cosine inputs (`sim`, `score`, the learned model's floor) shift.
`python -m evals.checker_eval` encodes every passage sentence alone (no index attached), so it
grades the checker on `exact` vectors only.

This grades the same labelled rows (evals/datasets/support.jsonl) twice in one process: as
checker_eval does (exact), then with every passage sentence's vector taken from a late index
when one of CACHE's indexes (an eval cache built with PLAYBOOK_SENTENCE_VECTORS=late:
CACHE/<corpus>/index) holds the sentence, else pooled from the row's passage run as a chunk
(heading line + passage, `ingest.late.LateEncoder`; a sentence cut by the sequence limit is
encoded alone, as at ingest). The claims are encoded as in the product either way. It prints
both scoreboards, where the late vectors came from, their cosine to the exact ones, and the
rows whose verdict flips. `--refit` instead refits the learned model (rag/support_model.py) on
late measurements of the DEV rows exactly as `python -m evals.checker_fit` does (same features,
L2, floor, threshold rule) and prints its dev figures. Nothing is written.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from evals.checker_eval import DATA, format_board, load_rows, project_verdicts, scoreboard

if TYPE_CHECKING:
    from rag.chunk import Chunk


@dataclass
class _Chunk:
    """What `LateEncoder` reads of a chunk."""

    embed_text: str
    text: str


class _DictTable:
    """A sentence table held in memory (`rag.vector_cache.SentenceTable`)."""

    def __init__(self, vectors: dict[str, np.ndarray]) -> None:
        self.vectors = vectors

    def lookup(self, texts: Sequence[str]) -> dict[str, Any]:
        found = {t: self.vectors[t].astype(np.float32) for t in texts if t in self.vectors}
        return {t: v / max(float(np.linalg.norm(v)), 1e-12) for t, v in found.items()}


def late_tables(cache: Path | None) -> list[tuple[str, Any]]:
    """(name, table) of every late index under `cache` (an eval cache folder)."""
    from rag.index.folders import current_generation
    from rag.index.sentences import SentenceTable

    found: list[tuple[str, Any]] = []
    for index in sorted(cache.glob("*/index")) if cache else []:
        generation = current_generation(index)
        if generation is None:
            continue
        manifest = json.loads((generation / "manifest.json").read_text())
        if manifest.get("sentence_vectors") != "late":
            raise SystemExit(f"{index} was not built with PLAYBOOK_SENTENCE_VECTORS=late")
        table = SentenceTable.open(generation)
        if table is not None:
            found.append((index.parent.name, table))
    return found


def use_late(rows: Sequence[dict[str, Any]], cache: Path | None) -> dict[str, Any]:
    """Make this thread read late vectors for the rows' passage sentences (the late indexes'
    tables, then the rest pooled from each row's own passage run); returns where they came
    from."""
    from ingest.late import LateEncoder
    from rag.embedder import table_space
    from rag.text import units
    from rag.vector_cache import VECTORS, default_embedder

    embedder = default_embedder()
    tables = late_tables(cache)
    texts = list(dict.fromkeys(u.text for r in rows for u in units(r["passage"])))
    source: dict[str, str] = {}
    for name, table in tables:
        for text in table.lookup([t for t in texts if t not in source]):
            source[text] = name
    encoder = LateEncoder(embedder)
    for row in rows:  # passages whose sentences no late index holds: pooled from their own run
        if any(u.text not in source for u in units(row["passage"])):
            head = row.get("heading") or row.get("source") or ""
            encoder([cast("Chunk", _Chunk(f"{head}\n{row['passage']}", row["passage"]))])
    pooled = {t: v for t, v in encoder.finish().items() if t not in source}
    space = table_space(embedder.space, "late")
    for name, table in tables:
        VECTORS.attach(f"late:{name}", space, table)
    VECTORS.attach("late:pooled", space, _DictTable(pooled))
    VECTORS.use("late:pooled", "late")
    return {"texts": texts, "sentences": len(texts), "from_index": len(source),
            "pooled_here": len(pooled), "encoded_alone": encoder.fallback}


def grade(rows: Sequence[dict[str, Any]], cache: Path | None) -> dict[str, Any]:
    """Both scoreboards, the provenance and cosines of the late vectors, the flipped rows."""
    from rag.vector_cache import VECTORS, default_embedder

    embedder = default_embedder()
    VECTORS.use("checker-exact", "exact")  # exact: no table of late vectors is read
    exact = project_verdicts(rows, embedder)
    made = use_late(rows, cache)
    late = project_verdicts(rows, embedder)
    texts = made.pop("texts")
    exact_rows = _read_vectors(texts, embedder, "exact")
    late_rows = _read_vectors(texts, embedder, "late")
    cosines = np.einsum("ij,ij->i", exact_rows, late_rows)
    flips = [{"id": r["id"], "category": r["category"], "label": r["label"],
              "exact": e, "late": la, "sentence": r["sentence"]}
             for r, e, la in zip(rows, exact, late, strict=True) if e != la]
    return {"exact": scoreboard(rows, exact), "late": scoreboard(rows, late), "flips": flips,
            **made, "cosine_mean": float(cosines.mean()), "cosine_min": float(cosines.min())}


def refit(rows: Sequence[dict[str, Any]], cache: Path | None, l2: float) -> str:
    """The learned model refitted on late measurements of the DEV rows as evals.checker_fit
    fits it (same features, L2, floor and threshold rule): constants and dev boards."""
    from evals.calibrate_refusal import fit
    from evals.checker_fit import FLOOR, MIN_KEPT, cross_validated, measure, threshold, verdicts
    from rag import support_model

    use_late(rows, cache)
    dev = measure(rows)
    model = fit(dev, support_model.FEATURES, l2)
    t = threshold(dev, model, MIN_KEPT, FLOOR)
    weights = ", ".join(f'"{k}": {v:.4g}' for k, v in model[0].items())
    return "\n".join([
        f"refitted on late vectors: WEIGHTS = {{{weights}}}, INTERCEPT = {model[1]:.4g}, "
        f"threshold {t}, floor {FLOOR}",
        format_board(scoreboard(dev, verdicts(dev, model, t, FLOOR)), "== late refit, dev, "
                     "in-sample"),
        format_board(scoreboard(dev, cross_validated(dev, l2, t, floor=FLOOR)),
                     "== late refit, dev, 5-fold cross-validated")])


def _read_vectors(texts: Sequence[str], embedder: Any, kind: str) -> np.ndarray:
    """The vectors the checker read for `texts` under `kind` (from VECTORS' cache)."""
    from rag.vector_cache import VECTORS

    VECTORS.use(f"checker-{kind}" if kind == "exact" else "late:pooled", kind)
    return VECTORS.encode(list(texts), embedder)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m evals.checker_late`."""
    parser = argparse.ArgumentParser(prog="python -m evals.checker_late",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=Path, help="eval cache built with late vectors")
    parser.add_argument("--split", choices=("dev", "test"), default="dev")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--refit", action="store_true",
                        help="refit the learned model on late dev measurements instead")
    parser.add_argument("--l2", type=float, default=3.0, help="as evals.checker_fit")
    args = parser.parse_args(argv)
    if args.refit:
        print(refit(load_rows(args.data, "dev"), args.tables, args.l2))
        return 0
    result = grade(load_rows(args.data, args.split), args.tables)
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(format_board(result["exact"], f"== exact passage vectors, {args.split}") + "\n")
    print(format_board(result["late"], f"== late passage vectors, {args.split}") + "\n")
    print(f"{result['sentences']} passage sentences: {result['from_index']} from the late "
          f"indexes, {result['pooled_here']} pooled from the row's passage "
          f"({result['encoded_alone']} of them encoded alone); cosine late vs exact mean "
          f"{result['cosine_mean']:.3f}, min {result['cosine_min']:.3f}")
    print(f"\n{len(result['flips'])} verdicts flip:")
    for f in result["flips"]:
        print(f"  {f['id']} {f['category']:<15} {f['label']:<11} exact "
              f"{'SHOWN' if f['exact'] else 'LOST '} late {'SHOWN' if f['late'] else 'LOST '}"
              f" :: {f['sentence']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
