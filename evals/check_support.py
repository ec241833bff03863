"""Validate the labelled support set (evals/datasets/support.jsonl) and print its counts.

    python -m evals.check_support [FILE] [--min-per-category N] [--corpora DIR]

Checks: every line is a JSON object with the documented fields; ids are unique; split, corpus,
category and label take known values and the label matches the category; every passage occurs
verbatim (whitespace-normalised) in its source file; a passage keeps one split, and passages
of one file that overlap never sit in different splits (test passages stay unseen); verbatim
rows are copies of their passage and unsupported rows are not. Standard library only, so it
runs with any python3.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

from evals.jsonl import read_objects
from rag.errors import PlaybookError

ROOT = Path(__file__).resolve().parent.parent
DATASET = Path(__file__).resolve().parent / "datasets" / "support.jsonl"
DEFAULT_CORPORA = ROOT.parent / "shared" / "corpora"

LABELS = {
    "verbatim": "supported", "paraphrase": "supported", "summary": "supported",
    "partial": "unsupported", "invention": "unsupported", "reversal": "unsupported",
    "changed-fact": "unsupported", "copy-drift": "unsupported",
    "misattribution": "unsupported", "filler": "unsupported",
}
FIELDS = ("id", "split", "corpus", "source", "heading", "passage", "sentence", "label",
          "category", "note")
SPLITS = ("dev", "test")
PASSAGE_CHARS = (300, 1500)
STOP = frozenset("""a an and are as at be but by can do for from has have if in is it its
of on or so that the their them then there these they this to was were what when which who
will with you your not""".split())


class SupportDataError(Exception):
    """The file cannot be read as JSON lines."""


def corpus_roots(corpora: Path = DEFAULT_CORPORA) -> dict[str, list[Path]]:
    """Content folders a row's `source` is relative to, per corpus name."""
    return {
        "playbook": [ROOT / "content", corpora.parent / "playbook"],
        "cwe-playbook": [corpora / "cwe-playbook" / "docs"],
        "18f-handbook": [corpora / "18f-handbook" / "pages"],
        "npm-docs": [ROOT / "evals" / "corpora" / "npm-docs"],  # dev rows only
        "node-contributing": [ROOT / "evals" / "corpora" / "node-contributing"],  # test only
    }


def squash(text: str) -> str:
    """Whitespace-normalised text: runs of whitespace become one space."""
    return " ".join(text.split())


def plain(text: str) -> str:
    """Text with Markdown markup, list markers, curly quotes and case folded away."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links and images keep their text
    text = re.sub(r"(?m)^\s*(?:[-*+]|\d+\.)\s+(?:\[[ xX]\]\s+)?", "", text)
    text = re.sub(r"[*_`]", "", text)
    text = text.translate(str.maketrans("“”‘’–", "\"\"''-"))
    return squash(text).lower()


def content_overlap(sentence: str, passage: str) -> float:
    """Share of the sentence's content words that also occur in the passage."""
    words = [w for w in re.findall(r"[a-z0-9]+", plain(sentence)) if w not in STOP]
    have = set(re.findall(r"[a-z0-9]+", plain(passage)))
    return sum(w in have for w in words) / len(words) if words else 0.0


def load_rows(path: Path) -> list[dict]:
    """The JSON objects of a JSONL file; SupportDataError names the first bad line."""
    try:
        return read_objects(path)
    except PlaybookError as exc:
        raise SupportDataError(str(exc).rstrip(".")) from exc


def _row_errors(row: dict, roots: dict[str, list[Path]], texts: dict) -> list[str]:
    """Problems with one row on its own."""
    rid = row.get("id", "?")
    missing = [f for f in FIELDS if not isinstance(row.get(f), str) or not row[f].strip()]
    if missing:
        return [f"{rid}: missing or empty field(s) {', '.join(missing)}"]
    errors = []
    if not re.fullmatch(r"sup-\d{4}", row["id"]):
        errors.append(f"{rid}: id should look like sup-0001")
    if row["split"] not in SPLITS:
        errors.append(f"{rid}: split {row['split']!r} is not dev or test")
    if row["category"] not in LABELS:
        errors.append(f"{rid}: unknown category {row['category']!r}")
    elif row["label"] != LABELS[row["category"]]:
        errors.append(f"{rid}: category {row['category']} needs label {LABELS[row['category']]}")
    if re.search(r"\[\d+\]", row["sentence"]):
        errors.append(f"{rid}: sentence carries a [n] citation marker")
    if not PASSAGE_CHARS[0] <= len(row["passage"]) <= PASSAGE_CHARS[1]:
        errors.append(f"{rid}: passage has {len(row['passage'])} characters, "
                      f"outside {PASSAGE_CHARS[0]}-{PASSAGE_CHARS[1]}")
    if row["corpus"] not in roots:
        return [*errors, f"{rid}: unknown corpus {row['corpus']!r}"]
    text = _source_text(row["corpus"], row["source"], roots, texts)
    if text is None:
        errors.append(f"{rid}: source {row['source']} not found in corpus {row['corpus']}")
    elif squash(row["passage"]) not in text:
        errors.append(f"{rid}: passage does not occur verbatim in {row['source']}")
    copied = plain(row["sentence"]).rstrip(".!?;: ") in plain(row["passage"])
    if row["category"] == "verbatim" and not copied:
        errors.append(f"{rid}: verbatim sentence is not a copy of its passage")
    if row["label"] == "unsupported" and copied:
        errors.append(f"{rid}: unsupported sentence is copied from its own passage")
    return errors


def _source_text(corpus: str, source: str, roots: dict[str, list[Path]], texts: dict) -> str | None:
    """Whitespace-normalised text of a source file (cached), or None if it is missing."""
    key = (corpus, source)
    if key not in texts:
        texts[key] = None
        for root in roots[corpus]:
            path = root / source
            if path.is_file() and ".." not in Path(source).parts:
                texts[key] = squash(path.read_text(encoding="utf-8"))
                break
    return texts[key]


def _split_errors(rows: list[dict], texts: dict) -> list[str]:
    """A passage keeps one split; overlapping passages of one file share their split."""
    errors = []
    split_of: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for row in rows:
        split_of[(row["corpus"], row["source"], squash(row["passage"]))].add(row["split"])
    spans: dict[tuple[str, str], list[tuple[int, int, str]]] = defaultdict(list)
    for (corpus, source, passage), splits in split_of.items():
        if len(splits) > 1:
            errors.append(f"passage of {source} starting {passage[:40]!r} is in both splits")
        text = texts.get((corpus, source))
        start = text.find(passage) if text else -1
        if start >= 0:
            spans[(corpus, source)].append((start, start + len(passage), min(splits)))
    for (_, source), found in spans.items():
        # a handful of passages per file: compare every pair
        clash = any(a[0] < b[1] and b[0] < a[1] and a[2] != b[2]
                    for i, a in enumerate(found) for b in found[i + 1:])
        if clash:
            errors.append(f"overlapping passages of {source} are in different splits")
    return errors


def validate(rows: list[dict], roots: dict[str, list[Path]] | None = None,
             min_per_category: int = 0) -> list[str]:
    """Every problem found in the rows, one sentence each (empty when the set is sound)."""
    roots = roots or corpus_roots()
    texts: dict = {}
    errors = []
    for row in rows:
        errors.extend(_row_errors(row, roots, texts))
    ids = Counter(row.get("id") for row in rows)
    errors.extend(f"{rid}: id used {n} times" for rid, n in ids.items() if n > 1)
    complete = [r for r in rows if all(isinstance(r.get(f), str) for f in FIELDS)]
    errors.extend(_split_errors(complete, texts))
    per_category = Counter(row.get("category") for row in rows)
    for category in LABELS:
        if per_category[category] < min_per_category:
            errors.append(f"category {category} has {per_category[category]} rows, "
                          f"fewer than {min_per_category}")
        for split in SPLITS:
            if not any(r.get("category") == category and r.get("split") == split for r in rows):
                errors.append(f"category {category} has no {split} rows")
    return errors


def count_table(rows: list[dict]) -> str:
    """Rows per category and split (with mean content-word overlap), then per corpus."""
    lines = [f"{'category':<15}{'dev':>5}{'test':>6}{'all':>6}  overlap"]
    for category in LABELS:
        mine = [r for r in rows if r["category"] == category]
        dev = sum(r["split"] == "dev" for r in mine)
        mean = sum(content_overlap(r["sentence"], r["passage"]) for r in mine) / max(len(mine), 1)
        lines.append(f"{category:<15}{dev:>5}{len(mine) - dev:>6}{len(mine):>6}  {mean:.2f}")
    dev = sum(r["split"] == "dev" for r in rows)
    lines.append(f"{'total':<15}{dev:>5}{len(rows) - dev:>6}{len(rows):>6}")
    for corpus in sorted({r["corpus"] for r in rows}):
        mine = [r for r in rows if r["corpus"] == corpus]
        dev = sum(r["split"] == "dev" for r in mine)
        passages = {(r["source"], r["passage"]) for r in mine}
        lines.append(f"{corpus:<15}{dev:>5}{len(mine) - dev:>6}{len(mine):>6}  "
                     f"({len(passages)} passages)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Validate the file, print counts; exit status 1 when anything is wrong."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DATASET)
    parser.add_argument("--min-per-category", type=int, default=0)
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    args = parser.parse_args(argv)
    try:
        rows = load_rows(args.file)
    except SupportDataError as exc:
        print(exc, file=sys.stderr)
        return 1
    errors = validate(rows, corpus_roots(args.corpora), args.min_per_category)
    for error in errors:
        print(error, file=sys.stderr)
    if not errors:
        print(count_table(rows))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
