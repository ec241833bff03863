"""Pooled chunk vectors: a chunk's vector derived from its units' vectors (issue 18, ingest ratio).

Ingest runs the model twice over the same words: once per chunk (`Chunk.embed_text`, the
chunk vector) and once per citable unit (`rag.text.units`, the sentence table). This script
measures whether the first pass can go: each chunk's vector is derived from vectors of its
units (encoded alone, exactly as the sentence table holds them) and, optionally, of the
chunk's prefix (the title > heading path line, or all of `embed_text` before the text) as one
more unit. Variants (`--variants`, comma-separated; `+head` / `+prefix` add that unit, `:W`
weighs it W times one unit in `a`, W times its own tokens in `b`):

    baseline     the index's own chunk vectors (the model over `embed_text`)
    a            normalize(mean of the units' unit vectors)
    b            mean pooling over all the units' tokens: sum of each unit's last hidden state
                 over its word pieces, [CLS] and [SEP] included (the model's own pooling, per
                 unit), over the units' summed token counts, normalised
    b0           as b without the [CLS] / [SEP] rows

A chunk without any unit (a code block, a table, a bare heading) keeps its baseline vector:
a pooled pipeline would encode that chunk whole (`fallback` counts them, and `--speed` charges
them to the pooled side).

Quality: for each corpus, a copy of the prebuilt index (never the source folder) gets each
variant's vectors.npy (exact dense search reads only that file; BM25 and the chunks are
unchanged) and is scored as `evals.runner.evaluate_retrieval` scores retrieval (same question
cleaning, `rag.retrieve.search` at depth 300 collapsed to documents, `evals.metrics`), dense
and hybrid only; BEIR corpora as `evals.beir.run_beir` scores them (graded qrels,
article ids). Speed (`--speed N`): CPU seconds (`time.process_time`, every runtime thread) of
encoding N chunks' `embed_text` vs their units (+ distinct heads, + the unit-less chunks
whole), alternated, `--repeats` each.

Findings (2026-12-02, results in benchmarks/results/pooled_chunks-*.json): no variant keeps
hybrid nDCG@10 within 0.005 of the baseline on all of cwe-dev, 18f-dev and SciFact train.
18f-dev and SciFact hold (best: a+head +0.0055 on 18f, b+prefix +0.0023 on SciFact), but every
variant loses 0.016-0.031 on cwe-dev (best a+prefix+rest -0.0171: 11 questions lose their gold
document from rank 1 to 2, 5 gain), and dense nDCG@10 drops on cwe-dev and SciFact for all of
them. Speed side (18f, 300 chunks): units + distinct heads (+ the unit-less chunks whole) cost
0.96 x the chunk pass's CPU seconds, i.e. a model-work ratio of 1.04 x the raw model.

    python -m benchmarks.pooled_chunks --corpus cwe-dev,18f-dev,scifact
    python -m benchmarks.pooled_chunks --corpus 18f-dev --speed 300 --variants baseline
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import RESULTS, conditions
from evals import metrics
from evals.runner import DEPTH, ranked_documents
from evals.suites import DEFAULT_CACHE, DEFAULT_CORPORA, resolve, with_questions

DEFAULT_VARIANTS = ("baseline,a,a+head,a+prefix,b,b0,b+head,b+prefix")
BEIR = {"scifact": ("scifact", "train")}  # corpus name -> (folder under corpora, qrels split)
MODES = ("dense", "hybrid")
KEYS = ("ndcg@10", "hit@1", "hit@3", "recall@10")


@dataclass
class Target:
    """One corpus to score: its source index, the questions and how they are judged."""

    name: str
    index_dir: Path  # the prebuilt index (read only)
    content_dir: Path
    key: str  # chunk attribute the judgements name
    questions: list[tuple[str, dict[str, float]]]  # (query text, {document id: relevance})
    clean: bool  # playbook suites clean the question as rag.api does; BEIR queries go as is


def targets(names: list[str], cache: Path, beir_cache: Path, corpora: Path) -> list[Target]:
    """The corpora to score: suite names (cwe-dev, 18f-test, ...) or BEIR names (scifact)."""
    from evals.beir import read_qrels
    from evals.jsonl import read_objects

    found: list[Target] = []
    for name in names:
        if name in BEIR:
            folder, split = BEIR[name]
            root = corpora / folder
            qrels = read_qrels(root / "qrels" / f"{split}.tsv")
            queries = {str(q["_id"]): q["text"] for q in read_objects(root / "queries.jsonl")}
            found.append(Target(f"{name}-{split}", beir_cache / f"beir-{folder}" / "index",
                                beir_cache / f"beir-{folder}" / "content", "article_id",
                                [(queries[q], qrels[q]) for q in qrels if q in queries], False))
            continue
        for suite in resolve(name, corpora):
            loaded = with_questions(suite)
            questions = [(q.question, dict.fromkeys(q.relevant, 1.0))
                         for q in loaded.questions if not q.refuse]
            found.append(Target(loaded.name, cache / suite.corpus / "index", suite.content_dir,
                                suite.key, questions, True))
    return found


# --- unit states --------------------------------------------------------------------------------


class UnitStates:
    """Per distinct text: the model's unit vector, and the sums of its last hidden state over
    all its tokens and over its [CLS] / [SEP] rows, and its token count (one token-graph run)."""

    def __init__(self, model: Any, texts: list[str]) -> None:
        self.row = {t: i for i, t in enumerate(texts)}
        encoded = model._tokenizer.encode_batch(texts)
        self.count = np.zeros(len(texts), np.float64)
        for rows in model._batches([len(e.ids) for e in encoded], None):
            pooled, hidden = model._run_tokens([encoded[i].ids for i in rows])
            if not hasattr(self, "unit"):  # the model's width, from its first run
                dim = pooled.shape[1]
                self.unit = np.zeros((len(texts), dim), np.float32)
                self.total = np.zeros((len(texts), dim), np.float64)
                self.special = np.zeros((len(texts), dim), np.float64)
            for k, i in enumerate(rows):
                n = len(encoded[i].ids)
                states = hidden[k, :n].astype(np.float64)
                mask = np.asarray(encoded[i].special_tokens_mask, bool)
                self.unit[i] = pooled[k]
                self.total[i] = states.sum(axis=0)
                self.special[i] = states[mask].sum(axis=0)
                self.count[i] = n
        self.specials = np.array([sum(e.special_tokens_mask) for e in encoded], np.float64)

    def check_pooling(self) -> float:
        """Largest 1 - cos between the graph's pooled vector and normalize(total / count):
        the model's pooling is the mean over every token, [CLS] and [SEP] included."""
        mean = self.total / self.count[:, None]
        mean /= np.linalg.norm(mean, axis=1, keepdims=True)
        return float(1 - np.min(np.einsum("ij,ij->i", mean, self.unit)))


def prefix_of(chunk: Any, kind: str) -> str:
    """The chunk's extra unit: 'head' = the title > heading path line; 'prefix' = all of
    `embed_text` before the text (that line and the overlap carried from the previous chunk)."""
    if kind == "head":
        return chunk.embed_text.split("\n", 1)[0]
    return chunk.embed_text[: len(chunk.embed_text) - len(chunk.text)].strip()


def rest_of(text: str) -> list[str]:
    """The parts of a chunk's text no unit covers (code blocks, tables, headings), as pieces:
    the runs between units, whitespace collapsed, those with a word of 2+ letters or digits."""
    from rag.text import units

    pieces, at = [], 0
    for unit in [*units(text), None]:
        end = unit.start if unit is not None else len(text)
        piece = re.sub(r"\s+", " ", text[at:end]).strip()
        if re.search(r"\w\w", piece):
            pieces.append(piece)
        at = unit.end if unit is not None else at
    return pieces


def extra_texts(chunk: Any, kind: str) -> list[str]:
    """The texts an extra adds for a chunk: its prefix or head (one), its uncovered parts."""
    if kind == "rest":
        return rest_of(chunk.text)
    return [prefix_of(chunk, kind)]


def parse(spec: str) -> tuple[str, list[tuple[str, float]]]:
    """'b+head:2+rest' -> ('b', [('head', 2.0), ('rest', 1.0)])."""
    base, *extras = spec.split("+")
    parsed = []
    for extra in extras:
        kind, _, weight = extra.partition(":")
        parsed.append((kind, float(weight) if weight else 1.0))
    return base, parsed


def derive(spec: str, chunks: list[Any], units: list[list[str]], states: UnitStates,
           baseline: np.ndarray) -> tuple[np.ndarray, int]:
    """The variant's chunk matrix and how many chunks kept their baseline vector."""
    if spec == "baseline":
        return baseline.copy(), len(chunks)
    base, extras = parse(spec)
    if base not in ("a", "b", "b0"):
        raise ValueError(f"unknown variant {spec!r}")
    sums = states.unit.astype(np.float64) if base == "a" else (
        states.total if base == "b" else states.total - states.special)
    out = baseline.copy()
    kept = 0
    for c, (chunk, texts) in enumerate(zip(chunks, units, strict=True)):
        if not texts:
            kept += 1
            continue
        vector = sums[[states.row[t] for t in texts]].sum(axis=0)
        for kind, weight in extras:
            for text in extra_texts(chunk, kind):
                vector = vector + weight * sums[states.row[text]]
        out[c] = vector / np.linalg.norm(vector)
    return out, kept


# --- scoring --------------------------------------------------------------------------------


def score(target: Target, index_dir: Path, vectors: list[list[float]]) -> dict[str, Any]:
    """Mean retrieval metrics (dense, hybrid) of the target's questions on one index copy."""
    from rag.index import load_index
    from rag.retrieve import search
    from rag.settings import Settings

    settings = Settings.model_validate({"content_dir": target.content_dir,
                                        "index_dir": index_dir})
    reader = load_index(settings)
    per_mode: dict[str, list[dict[str, float]]] = {m: [] for m in MODES}
    for (text, relevant), vector in zip(target.questions, vectors, strict=True):
        for mode in MODES:
            hits = search(reader, text, vector, settings, mode=mode, depth=DEPTH)
            ranked = ranked_documents(reader, hits, target.key)
            per_mode[mode].append(metrics.retrieval_scores(ranked, relevant))
    reader.close()
    summary: dict[str, Any] = {mode: {k: round(float(np.mean([s[k] for s in rows])), 4)
                                      for k in KEYS} for mode, rows in per_mode.items()}
    summary["hybrid_ndcg_per_question"] = [round(s["ndcg@10"], 4) for s in per_mode["hybrid"]]
    return summary


def query_vectors(target: Target) -> list[list[float]]:
    """Each question embedded once (cleaned as rag.api does for playbook suites)."""
    from rag.api import clean_question
    from rag.embedder import make_embedder
    from rag.settings import Settings

    settings = Settings()
    embedder = make_embedder(settings)
    if target.clean:
        target.questions = [(clean_question(q, settings), r) for q, r in target.questions]
    return [embedder.get_query_embedding(q) for q, _ in target.questions]


def run_target(target: Target, variants: list[str], work: Path, model: Any) -> dict[str, Any]:
    """Copy the target's index once per variant, rewrite its vectors.npy, score it."""
    from rag.index.folders import current_generation, read_chunks
    from rag.index.sentences import SentenceTable, passage_texts
    from rag.index.vectors import save

    source = current_generation(target.index_dir)
    assert source is not None, target.index_dir
    chunks = read_chunks(source)
    baseline = np.load(source / "vectors.npy").astype(np.float32)
    units = [passage_texts(c.text) for c in chunks]
    extras = {t for c in chunks for kind in ("head", "prefix", "rest")
              for t in extra_texts(c, kind)}
    texts = list(dict.fromkeys([t for row in units for t in row] + sorted(extras)))
    started = time.process_time()
    states = UnitStates(model, texts)
    info: dict[str, Any] = {
        "chunks": len(chunks), "units": sum(map(len, units)), "distinct_texts": len(texts),
        "unit_pass_cpu_s": round(time.process_time() - started, 1),
        "pooling_max_1mcos": states.check_pooling(),
    }
    table = SentenceTable.open(source)
    if table is not None:  # the table's vectors are what a pooled ingest would pool
        held = table.lookup([t for row in units for t in row])
        agree = [float(states.unit[states.row[t]] @ v) for t, v in held.items()]
        info["table_min_cos"] = round(min(agree), 5) if agree else None
    questions = query_vectors(target)
    rows: dict[str, Any] = {}
    for spec in variants:
        matrix, kept = derive(spec, chunks, units, states, baseline)
        copy = work / target.name / spec.replace(":", "w")
        if copy.exists():
            shutil.rmtree(copy)
        shutil.copytree(target.index_dir, copy, ignore=shutil.ignore_patterns("LOCK", "*.lock"))
        folder = current_generation(copy)
        assert folder is not None
        save(folder, matrix)
        rows[spec] = score(target, copy, questions) | {"baseline_vectors_kept": kept}
        shutil.rmtree(copy)
        print(f"{target.name} {spec}: " + " ".join(
            f"{m} {rows[spec][m]['ndcg@10']:.4f}" for m in MODES), file=sys.stderr, flush=True)
    return {"info": info, "questions": len(questions), "variants": rows}


# --- speed --------------------------------------------------------------------------------


def speed(model: Any, index_dir: Path, n: int, repeats: int, seed: int = 0) -> dict[str, Any]:
    """CPU seconds of encoding `n` chunks' embed_text vs their units alone, + distinct heads and
    the unit-less chunks' embed_text, + the parts no unit covers (`rest_of`), alternated,
    `repeats` times each, in this one process."""
    from rag.index.folders import current_generation, read_chunks
    from rag.index.sentences import passage_texts

    source = current_generation(index_dir)
    assert source is not None
    chunks = random.Random(seed).sample(read_chunks(source), n)
    whole = [c.embed_text for c in chunks]
    units = list(dict.fromkeys(t for c in chunks for t in passage_texts(c.text)))
    heads = list(dict.fromkeys(prefix_of(c, "head") for c in chunks))
    bare = [c.embed_text for c in chunks if not passage_texts(c.text)]
    rest = list(dict.fromkeys(t for c in chunks if passage_texts(c.text) for t in rest_of(c.text)))
    sides = {"chunks": whole, "units": units, "units+heads": units + heads + bare,
             "units+heads+rest": units + heads + bare + rest}
    model.encode(whole[:32])  # warm the session
    times: dict[str, list[float]] = {k: [] for k in sides}
    for _ in range(repeats):
        for name, texts in sides.items():
            started = time.process_time()
            model.encode(texts)
            times[name].append(time.process_time() - started)
    tokens = {k: int(sum(len(e.ids) for e in model._tokenizer.encode_batch(v)))
              for k, v in sides.items()}
    best = {k: min(v) for k, v in times.items()}
    return {"chunks": n, "texts": {k: len(v) for k, v in sides.items()}, "tokens": tokens,
            "unitless_chunks": len(bare), "cpu_s": {k: [round(x, 2) for x in v]
                                                   for k, v in times.items()},
            "ratio_chunks_over": {k: round(best["chunks"] / best[k], 3) for k in sides}}


def table(results: dict[str, Any]) -> str:
    """Plain-text table: one block per corpus, one row per variant."""
    lines = []
    for name, result in results.items():
        base = result["variants"].get("baseline")
        lines.append(f"{name}: {result['questions']} questions")
        lines.append(f"{'variant':<14} {'dense nDCG':>10} {'hybrid nDCG':>11} {'d-base':>7} "
                     f"{'dense hit@3':>11} {'hybrid hit@3':>12}")
        for spec, row in result["variants"].items():
            delta = row["hybrid"]["ndcg@10"] - base["hybrid"]["ndcg@10"] if base else 0.0
            lines.append(f"{spec:<14} {row['dense']['ndcg@10']:>10.4f} "
                         f"{row['hybrid']['ndcg@10']:>11.4f} {delta:>+7.4f} "
                         f"{row['dense']['hit@3']:>11.4f} {row['hybrid']['hit@3']:>12.4f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    from rag.embedder import make_embedder
    from rag.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="cwe-dev,18f-dev,scifact",
                        help="comma-separated suites (cwe-dev, 18f-test, ...) or BEIR names "
                        "(scifact: train qrels)")
    parser.add_argument("--variants", default=DEFAULT_VARIANTS)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help="prebuilt suite indexes (read only)")
    parser.add_argument("--beir-cache", type=Path, default=DEFAULT_CACHE,
                        help="cache holding beir-<name>/index (read only; `playbook eval "
                        "--beir` builds it)")
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    parser.add_argument("--work", type=Path, default=Path("/tmp/pooled-chunks"),
                        help="scratch folder for the index copies")
    parser.add_argument("--speed", type=int, default=0, metavar="N",
                        help="also time N chunks of the first corpus: embed_text vs units")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / "pooled_chunks.json")
    args = parser.parse_args(argv)
    model = make_embedder(Settings())
    found = targets(args.corpus.split(","), args.cache, args.beir_cache, args.corpora)
    variants = [v for v in args.variants.split(",") if v]
    out: dict[str, Any] = {"variants": variants, "conditions": conditions(), "corpora": {}}
    if args.speed:
        out["speed"] = speed(model, found[0].index_dir, args.speed, args.repeats)
        out["speed"]["corpus"] = found[0].name
        print(json.dumps(out["speed"]), file=sys.stderr, flush=True)
    if variants:
        for target in found:
            out["corpora"][target.name] = run_target(target, variants, args.work, model)
        print(table(out["corpora"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"Results: {args.out}")


if __name__ == "__main__":
    main()
