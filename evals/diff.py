"""`playbook diff`: what a content change does to the answers.

Every golden and logged question is answered twice, from the base content (a folder, or a git
ref exported with `git archive`) and from the current content, each with its own index in a
cache folder, built incrementally by `ingest.run` (seeded from the live index, so only changed
articles are re-embedded). The report lists questions newly refused or newly answered, answers
whose citations moved, and heading links of base answers that the current content breaks.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rag.answer import Answer
from rag.errors import PlaybookError
from rag.settings import Settings

FAIL_ON = ("refusal", "citation")
KINDS = ("newly refused", "newly answered", "citations moved")


@dataclass
class Change:
    """One question whose answer changed."""

    question: str
    kind: str  # one of KINDS
    old: list[str]  # cited links (source#anchor) before; [] when refused
    new: list[str]


@dataclass
class DiffReport:
    """The result of `playbook diff`; `to_json()` is its --format json output."""

    base: str
    questions: int
    changes: list[Change] = field(default_factory=list)
    broken: list[dict[str, str]] = field(default_factory=list)  # {question, link}
    seconds: float = 0.0
    ingest: dict[str, Any] = field(default_factory=dict)

    def count(self, kind: str) -> int:
        """Number of changes of one kind."""
        return sum(1 for c in self.changes if c.kind == kind)

    def failed(self, fail_on: Iterable[str]) -> bool:
        """Whether the report has a change named in --fail-on."""
        wanted = set(fail_on)
        return bool(
            ("refusal" in wanted and self.count("newly refused"))
            or ("citation" in wanted and (self.count("citations moved") or self.broken))
        )

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "counts": {k: self.count(k) for k in KINDS}
                | {"broken anchors": len(self.broken)}}


def read_questions(path: Path) -> list[str]:
    """Questions from a file: JSONL objects with a "question" key, or one question per line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise PlaybookError(f"Cannot read the questions file {path} ({exc.strerror}).") from exc
    out = []
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("{"):
            try:
                out.append(str(json.loads(line)["question"]))
            except (ValueError, KeyError, TypeError) as exc:
                raise PlaybookError(
                    f"{path.name} line {number} is not a JSON object with a \"question\"."
                ) from exc
        else:
            out.append(line)
    return out


def unique(questions: Iterable[str]) -> list[str]:
    """Questions without repeats (case and spacing ignored), first occurrence kept."""
    seen: dict[str, str] = {}
    for q in questions:
        seen.setdefault(" ".join(q.lower().split()), q.strip())
    return [q for q in seen.values() if q]


@contextmanager
def base_content(base: str, content: Path) -> Iterator[Path]:
    """The base content folder: `base` itself when it is a folder, else the content folder as
    it was at git ref `base` (exported with `git archive` into a temporary folder)."""
    folder = Path(base).expanduser()
    if folder.is_dir():
        yield folder.resolve()
        return
    top, prefix = _git_location(content)
    data = _git_archive(top, base, prefix)
    with tempfile.TemporaryDirectory(prefix="playbook-diff-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(tmp, filter="data")
        yield Path(tmp) / prefix


def _git_location(content: Path) -> tuple[Path, str]:
    try:
        top = subprocess.run(
            ["git", "-C", str(content), "rev-parse", "--show-toplevel"], capture_output=True,
            text=True, timeout=30, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raise PlaybookError(
            f"--base is not a folder, and {content} is not in a git repository to read a ref from."
        ) from exc
    return Path(top), content.resolve().relative_to(Path(top).resolve()).as_posix()


def _git_archive(top: Path, ref: str, prefix: str) -> bytes:
    command = ["git", "-C", str(top), "archive", "--format=tar", ref]
    done = subprocess.run([*command, "--", prefix], capture_output=True, timeout=120)
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise PlaybookError(
            f"--base '{ref}' is neither a folder nor a git ref with {prefix}/ "
            f"({reason[-1] if reason else 'git archive failed'})."
        )
    return done.stdout


def _seed(live: Path, target: Path) -> None:
    """Start a cache index from a copy of the live generation (ingest then only re-embeds the
    articles that differ)."""
    pointer = live / "CURRENT"
    if target.exists() or not pointer.is_file():
        return
    generation = pointer.read_text().strip()
    if not (live / generation).is_dir():
        return
    target.mkdir(parents=True)
    shutil.copytree(live / generation, target / generation)
    (target / "CURRENT").write_text(generation + "\n")


def index_for(settings: Settings, content: Path, folder: Path) -> tuple[Settings, dict[str, Any]]:
    """Settings answering from `content` with its own index in `folder`, brought up to date."""
    from ingest.pipeline import run

    local = settings.model_copy(update={
        "content_dir": content, "index_dir": folder, "chroma_url": None, "log_questions": False,
    })
    if settings.chroma_url is None:
        _seed(settings.index_path, folder)
    return local, run(local).to_json()


def cited_links(answer: Answer) -> list[str]:
    """Links (source#anchor) of the passages an answer cites; [] when it refuses."""
    if answer.refused:
        return []
    return sorted({c.url for c in answer.citations if f"[{c.n}]" in answer.answer})


Outcome = tuple[bool, list[str]]  # (refused, cited links): all a diff needs of an answer


class AnswerCache:
    """Outcomes of questions on one index generation with one set of answering settings, kept
    in the index's cache folder: a re-run (the next push to a pull request) only asks again
    where the content changed."""

    def __init__(self, settings: Settings) -> None:
        import hashlib

        from rag.index import load_index

        knobs = settings.model_dump_json(exclude={"content_dir", "index_dir", "log_questions"})
        key = hashlib.sha256(knobs.encode()).hexdigest()[:12]
        generation = load_index(settings).generation
        self.settings = settings
        self.path = settings.index_path / "cache" / f"diff-answers-{generation}-{key}.json"
        try:
            self.known: dict[str, Outcome] = {
                q: (bool(v[0]), list(v[1])) for q, v in json.loads(self.path.read_text()).items()
            }
        except (OSError, ValueError, TypeError, IndexError):
            self.known = {}

    def outcome(self, question: str) -> Outcome:
        """The cached outcome, else the answer's (raises QuestionError for a bad question)."""
        from rag.api import ask

        if question not in self.known:
            answer = ask(question, self.settings)
            self.known[question] = (answer.refused, cited_links(answer))
        return self.known[question]

    def save(self) -> None:
        import contextlib

        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self.known))


def compare(
    questions: list[str], base: Settings, current: Settings,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[Change], list[dict[str, str]]]:
    """Answer each question from both indexes; the changes and the broken links."""
    from rag.errors import QuestionError
    from rag.index import load_index

    anchors: dict[str, set[str]] = {}
    for chunk in load_index(current).chunks.values():
        anchors.setdefault(chunk.source, {""}).add(chunk.anchor)
    caches = AnswerCache(base), AnswerCache(current)
    changes: list[Change] = []
    broken: list[dict[str, str]] = []
    try:
        for done, question in enumerate(questions, start=1):
            try:
                old, new = caches[0].outcome(question), caches[1].outcome(question)
            except QuestionError:
                continue
            kind = _kind(old, new)
            if kind:
                changes.append(Change(question, kind, old[1], new[1]))
            for link in old[1]:
                source, _, anchor = link.partition("#")
                if anchor not in anchors.get(source, set()):
                    broken.append({"question": question, "link": link})
            if progress:
                progress(done, len(questions))
    finally:
        for cache in caches:
            cache.save()
    return changes, broken


def _kind(old: Outcome, new: Outcome) -> str | None:
    if new[0] and not old[0]:
        return "newly refused"
    if old[0] and not new[0]:
        return "newly answered"
    if old[1] != new[1]:
        return "citations moved"
    return None


def run_diff(
    settings: Settings, base: str, questions: list[str], cache: Path,
    progress: Callable[[int, int], None] | None = None,
) -> DiffReport:
    """Build (or update) both indexes and compare every question's answers."""
    started = time.perf_counter()
    current_content = settings.content_path
    if not current_content.is_dir():
        raise PlaybookError(f"Content folder {current_content} does not exist.")
    with base_content(base, current_content) as base_dir:
        if not base_dir.is_dir():
            raise PlaybookError(f"The base content {base_dir} does not exist.")
        old, old_report = index_for(settings, base_dir, cache / "base")
        new, new_report = index_for(settings, current_content, cache / "current")
        changes, broken = compare(questions, old, new, progress)
    report = DiffReport(base=base, questions=len(questions), changes=changes, broken=broken,
                        ingest={"base": old_report, "current": new_report})
    report.seconds = round(time.perf_counter() - started, 2)
    return report

