"""Command-line glue for `playbook diff`: which questions to ask (the CLI may import evals)."""

from __future__ import annotations

from pathlib import Path

from evals.diff import read_questions, unique
from rag.errors import PlaybookError
from rag.questionlog import QuestionLog
from rag.settings import Settings


def golden_questions(content: Path) -> list[str]:
    """Questions of every evaluation dataset written for this content folder (all splits)."""
    from evals.suites import suites

    files = {s.dataset for s in suites().values()
             if s.content_dir.resolve() == content.resolve() and s.dataset.is_file()}
    out: list[str] = []
    for path in sorted(files):
        out += read_questions(path)
    return out


def diff_questions(settings: Settings, questions_file: Path | None) -> list[str]:
    """--questions FILE, else the golden questions; plus every logged question."""
    if questions_file is not None:
        asked = read_questions(questions_file)
    else:
        asked = golden_questions(settings.content_path)
    logged = [row["question"] for row in QuestionLog(settings.index_path).rows()]
    questions = unique([*asked, *logged])
    if not questions:
        raise PlaybookError(
            "No questions to compare: pass --questions FILE (no evaluation dataset or logged "
            "question belongs to this content)."
        )
    return questions
