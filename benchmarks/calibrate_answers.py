"""Choose the refusal and support thresholds on the cwe-playbook DEV split (never the test split).

    python -m benchmarks.calibrate_answers --index DIR [--content DIR]

DIR is an index of ../shared/corpora/cwe-playbook/docs
(`playbook ingest --content ... --index DIR`).
Prints JSON: per-kind best-passage cosine, the separating refusal threshold, and the support
score distribution of supported / unsupported (claim, passage) pairs with the F1-best threshold.

Support pairs are built from the dev questions' retrieved passages: a supported claim is a
sentence of passage i with a fifth of its words dropped (a model's compression of it) checked
against passage i; an unsupported claim is the same sentence checked against a passage of another
article retrieved for the same question (same topic, different content: the hard case).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
from pathlib import Path

ROOT = Path(__file__).parent.parent
DATASET = ROOT / "evals" / "datasets" / "cwe-playbook.jsonl"
CORPUS = ROOT.parent / "shared" / "corpora" / "cwe-playbook" / "docs"


def dev_questions() -> list[dict]:
    """The dev split only."""
    rows = [json.loads(line) for line in DATASET.read_text().splitlines() if line.strip()]
    return [r for r in rows if r.get("split") == "dev"]


def refusal_figures(rows: list[dict], settings) -> tuple[dict, list]:  # noqa: ANN001
    """Answerability score per question, by in-scope / off-topic (the refusal model itself is
    fitted on every dev corpus by `python -m evals.calibrate_refusal`)."""
    from rag.api import retrieve_passages
    from rag.refusal import decide

    scores: dict[str, list[float]] = {"in_scope": [], "off_topic": []}
    caught = []
    retrieved = []
    for row in rows:
        passages = retrieve_passages(row["question"], settings)
        group = "off_topic" if row["gold"]["refuse"] else "in_scope"
        decision = decide(row["question"], passages, settings)
        scores[group].append(decision.relevance)
        retrieved.append((row, passages))
        if decision.refuse != row["gold"]["refuse"]:
            caught.append(row["id"])
    ins, off = sorted(scores["in_scope"]), sorted(scores["off_topic"])
    figures = {
        "in_scope": {"n": len(ins), "min": round(ins[0], 3), "median": statistics.median(ins),
                     "lowest": [round(v, 3) for v in ins[:5]]},
        "off_topic": {"n": len(off), "values": [round(v, 3) for v in off]},
        "wrong_decisions_at_current_threshold": caught,
    }
    return figures, retrieved


def support_pairs(retrieved: list, seed: int = 7) -> tuple[list, list]:
    """(claim, passage) pairs: supported (compressed own sentence) and unsupported (other
    article's passage for the same question)."""
    from rag.text import units

    rng = random.Random(seed)
    positives, negatives = [], []
    for row, passages in retrieved:
        if row["gold"]["refuse"] or len(passages) < 2:
            continue
        for passage in passages[:3]:
            sentences = [u.text for u in units(passage.text) if len(u.text.split()) >= 6]
            others = [p for p in passages if p.first.article_id != passage.first.article_id]
            for sentence in rng.sample(sentences, min(2, len(sentences))):
                words = sentence.split()
                kept = [w for w in words if rng.random() > 0.2] or words
                positives.append((" ".join(kept), passage.text))
                if others:
                    negatives.append((sentence, rng.choice(others).text))
    return positives, negatives


def support_figures(positives: list, negatives: list, embedder) -> dict:  # noqa: ANN001
    """Score distributions and the threshold with the best F1 (ties: the higher threshold)."""
    from rag.citations import support_score

    pos = [support_score(c, p, embedder).score for c, p in positives]
    neg = [support_score(c, p, embedder).score for c, p in negatives]
    best = (0.0, 0.0, 0.0, 0.0)
    lowest_precise = None  # the lowest threshold with precision >= 0.95 (paraphrases score low)
    for step in range(20, 90):
        t = step / 100
        tp = sum(s >= t for s in pos)
        fp = sum(s >= t for s in neg)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / len(pos) if pos else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        if f1 >= best[0]:
            best = (f1, t, precision, recall)
        if lowest_precise is None and precision >= 0.95:
            lowest_precise = {"threshold": t, "precision": round(precision, 3),
                              "recall": round(recall, 3)}
    return {
        "pairs": {"supported": len(pos), "unsupported": len(neg)},
        "supported": {"median": statistics.median(pos), "p10": sorted(pos)[len(pos) // 10]},
        "unsupported": {"median": statistics.median(neg), "p90": sorted(neg)[9 * len(neg) // 10]},
        "best_f1": round(best[0], 3), "threshold": best[1],
        "precision": round(best[2], 3), "recall": round(best[3], 3),
        "lowest_threshold_with_precision_0.95": lowest_precise,
    }


def main() -> None:
    """Print the calibration figures as JSON."""
    from rag.embedder import make_embedder
    from rag.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--content", type=Path, default=CORPUS)
    args = parser.parse_args()
    settings = Settings(content_dir=args.content, index_dir=args.index)
    refusal, retrieved = refusal_figures(dev_questions(), settings)
    positives, negatives = support_pairs(retrieved)
    support = support_figures(positives, negatives, make_embedder(settings))
    print(json.dumps({"refusal": refusal, "support": support}, indent=1))


if __name__ == "__main__":
    main()
