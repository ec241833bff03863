"""Question sets and the corpora they run over; cached indexes built with the project's ingest.

A suite = a JSONL dataset (see evals/datasets/README.md), optionally one split of it, and the
content folder it asks about. Each corpus gets its own index under the cache folder
(`.playbook-eval/<corpus>/index`), built by `ingest.run`, so re-runs only re-embed what changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import PlaybookError
from rag.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DATASETS = Path(__file__).resolve().parent / "datasets"
DEFAULT_CORPORA = ROOT.parent / "shared" / "corpora"
DEFAULT_CACHE = ROOT / ".playbook-eval"
# npm's own documentation (npm 11.19.1, Artistic License 2.0), copied in: short product docs, the
# kind of corpus the two handbooks are not (evals/corpora/README.md).
NPM_DOCS = Path(__file__).resolve().parent / "corpora" / "npm-docs"
# The Node.js project's contributor guides (Node.js 20.20.2, MIT), copied in: a real engineering
# team's playbook that no threshold was ever fitted on; its questions are all test.
NODE_CONTRIBUTING = Path(__file__).resolve().parent / "corpora" / "node-contributing"


@dataclass(frozen=True)
class Question:
    """One evaluation question with its gold data."""

    id: str
    question: str
    kind: str
    refuse: bool
    relevant: frozenset[str]  # article ids or source paths, matched against `Suite.key`
    quotes: tuple[str, ...] = ()
    key_points: tuple[str, ...] = ()
    split: str = ""
    topic: str = ""


@dataclass(frozen=True)
class Suite:
    """A dataset (or one split of it) over one content folder."""

    name: str
    dataset: Path
    content_dir: Path
    corpus: str  # cache folder name; suites over the same content share one index
    key: str  # Chunk attribute the gold ids are matched against: "article_id" or "source"
    split: str | None = None
    questions: list[Question] = field(default_factory=list, compare=False, repr=False)


def load_questions(path: Path, split: str | None = None) -> list[Question]:
    """Read a dataset file; `split` keeps only that split. Raises PlaybookError on bad lines."""
    questions: list[Question] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            gold = row["gold"]
            question = Question(
                id=row["id"], question=row["question"], kind=row["kind"],
                refuse=bool(gold.get("refuse", False)),
                relevant=frozenset(gold.get("articles", []) + gold.get("sources", [])),
                quotes=tuple(gold.get("quotes", [])), key_points=tuple(row.get("key_points", [])),
                split=row.get("split", ""), topic=row.get("topic", ""),
            )
        except (ValueError, KeyError, TypeError) as exc:
            reason = f"{path.name} line {number} is not a valid question ({exc})."
            raise PlaybookError(reason) from exc
        if split is None or question.split == split:
            questions.append(question)
    return questions


def suites(corpora: Path = DEFAULT_CORPORA) -> dict[str, Suite]:
    """Every known suite, by name."""
    cwe = corpora / "cwe-playbook" / "docs"
    cwe_file = DATASETS / "cwe-playbook.jsonl"
    handbook = corpora / "18f-handbook" / "pages"
    handbook_file = DATASETS / "18f-handbook.jsonl"
    npm_file = DATASETS / "npm-docs.jsonl"
    return {
        "playbook": Suite("playbook", DATASETS / "playbook.jsonl", ROOT / "content",
                          "playbook", "article_id"),
        "cwe-dev": Suite("cwe-dev", cwe_file, cwe, "cwe-playbook", "source", "dev"),
        "cwe-test": Suite("cwe-test", cwe_file, cwe, "cwe-playbook", "source", "test"),
        "18f-dev": Suite("18f-dev", handbook_file, handbook, "18f-handbook", "source", "dev"),
        "18f-test": Suite("18f-test", handbook_file, handbook, "18f-handbook", "source", "test"),
        "npm-dev": Suite("npm-dev", npm_file, NPM_DOCS, "npm-docs", "source", "dev"),
        "npm-test": Suite("npm-test", npm_file, NPM_DOCS, "npm-docs", "source", "test"),
        "node-test": Suite("node-test", DATASETS / "node-contributing.jsonl", NODE_CONTRIBUTING,
                           "node-contributing", "source", "test"),
    }


GROUPS = {
    "all": ["playbook", "cwe-dev", "cwe-test", "18f-dev", "18f-test", "npm-dev", "npm-test",
            "node-test"],
    "gate": ["playbook", "cwe-dev", "18f-dev", "npm-dev"],
    "dev": ["playbook", "cwe-dev", "18f-dev", "npm-dev"],  # what judgment parts are calibrated on
    "test": ["cwe-test", "18f-test", "npm-test", "node-test"],  # report only, never tuned on
    "cwe": ["cwe-dev", "cwe-test"],
    "18f": ["18f-dev", "18f-test"],
    "npm": ["npm-dev", "npm-test"],
    "node": ["node-test"],
}


def resolve(name: str, corpora: Path = DEFAULT_CORPORA) -> list[Suite]:
    """Suites for a name: a single suite or a group (all, gate, dev, test, cwe, 18f, npm, node)."""
    known = suites(corpora)
    names = GROUPS.get(name, [name])
    missing = [n for n in names if n not in known]
    if missing:
        choices = ", ".join([*known, *GROUPS])
        raise PlaybookError(f"Unknown suite '{name}': choose one of {choices}.")
    return [known[n] for n in names]


def with_questions(suite: Suite) -> Suite:
    """The suite with its questions loaded."""
    if not suite.content_dir.is_dir():
        raise PlaybookError(
            f"Suite '{suite.name}' needs the content folder {suite.content_dir}, which is missing."
        )
    questions = load_questions(suite.dataset, suite.split)
    return Suite(suite.name, suite.dataset, suite.content_dir, suite.corpus, suite.key,
                 suite.split, questions)


def suite_settings(suite: Suite, base: Settings, cache: Path = DEFAULT_CACHE) -> Settings:
    """Settings pointing at the suite's content and its cached index (other knobs from base)."""
    return base.model_copy(
        update={"content_dir": suite.content_dir, "index_dir": cache / suite.corpus / "index"}
    )


def build_index(settings: Settings) -> dict[str, object]:
    """Bring the cached index up to date with ingest.run; returns the ingest report.

    Two processes may want the same cached index at once (CI builds the gate's indexes in the
    background while pytest runs a test over cwe-dev's): the second waits here until the first
    is done, then finds the index up to date, instead of failing on ingest's own lock, which
    refuses a second writer at once. Like that lock, this one dies with its process."""
    from filelock import FileLock

    from ingest.pipeline import run

    lock = build_lock(settings.index_dir)
    lock.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(lock):
        return run(settings).to_json()


def build_lock(index_dir: Path) -> Path:
    """The file build_index locks while it brings `index_dir` up to date (beside the index)."""
    index_dir = index_dir.expanduser()
    return index_dir.parent / f"{index_dir.name}.build.lock"
