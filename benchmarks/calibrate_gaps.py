"""Choose the gap report's clustering distance on the dev splits of every dev corpus.

Topic labels come from the evaluation datasets: in-scope questions whose first gold article lies
in the same top-level section of the handbook (observability/, travel-and-leave/, ...) are about
the same topic. (Labels by single gold article were tried first: 42 topics for 50 questions, too
fine to score a grouping.)
For each cosine-distance cut, the questions are clustered as `rag.gaps.cluster` does and scored
by pairwise F1 against those labels (a pair is positive when both questions share a label).
The cut with the best mean dev F1 over the corpora is reported with per-corpus test figures.

    python -m benchmarks.calibrate_gaps
"""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import numpy as np

from rag.embedder import encode_texts, make_embedder
from rag.gaps import cluster
from rag.settings import Settings

DATASETS = Path(__file__).resolve().parent.parent / "evals" / "datasets"
CORPORA = ("cwe-playbook", "18f-handbook")
CUTS = [round(x, 2) for x in np.arange(0.20, 0.95, 0.05)]


def labelled(name: str, split: str) -> tuple[list[str], list[str]]:
    """(questions, topic labels) of the in-scope questions of one split."""
    questions, labels = [], []
    for line in (DATASETS / f"{name}.jsonl").read_text().splitlines():
        row = json.loads(line)
        gold = row["gold"]
        ids = gold.get("articles", []) + gold.get("sources", [])
        if row.get("split") == split and not gold.get("refuse") and ids:
            questions.append(row["question"])
            labels.append(ids[0].split("/")[0])  # the article's section of the handbook
    return questions, labels


def pair_f1(labels: list[str], clusters: list[int]) -> float:
    """Pairwise F1 of a clustering against topic labels."""
    tp = fp = fn = 0
    for i, j in combinations(range(len(labels)), 2):
        same, together = labels[i] == labels[j], clusters[i] == clusters[j]
        tp += same and together
        fp += together and not same
        fn += same and not together
    return 2 * tp / max(2 * tp + fp + fn, 1)


def main() -> None:
    embedder = make_embedder(Settings())
    scores: dict[tuple[str, str], list[float]] = {}
    for name in CORPORA:
        for split in ("dev", "test"):
            questions, labels = labelled(name, split)
            vectors = encode_texts(embedder, questions)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            scores[name, split] = [pair_f1(labels, cluster(vectors, c)) for c in CUTS]
            print(f"{name} {split}: {len(questions)} questions, "
                  f"{len(set(labels))} topics")
    dev = np.mean([scores[n, "dev"] for n in CORPORA], axis=0)
    best = int(np.argmax(dev))
    print("cut  " + "  ".join(f"{n[:4]}-{s}" for n in CORPORA for s in ("dev", "test")))
    for k, cut in enumerate(CUTS):
        mark = " <- chosen (best mean dev F1)" if k == best else ""
        row = "  ".join(f"{scores[n, s][k]:.3f}   " for n in CORPORA for s in ("dev", "test"))
        print(f"{cut:.2f} {row}{mark}")


if __name__ == "__main__":
    main()
