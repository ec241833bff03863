"""Which files are content: Markdown inside the content folder, nothing else.

One set of rules for ingest, re-ingest and the article view: hidden paths (any component that
starts with '.') are not content; a symlink may only lead to a visible place inside the content
folder unless `follow_external_symlinks` is set; loops, broken links and absurd nesting give one
sentence each. The walk is iterative (a deep tree cannot raise RecursionError) and reads each
real folder once (a symlink loop cannot make it run forever).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path, PurePosixPath

from rag.errors import ContentError

MAX_DEPTH = 64  # folders below the content folder; real handbooks use fewer than ten
MAX_SOURCE_CHARS = 1024  # a longer relative path is not one we could have listed
Skipped = list[dict[str, str]]


def is_hidden(relative: str) -> bool:
    """Whether a path relative to the content folder has a component starting with '.'."""
    return any(part.startswith(".") for part in PurePosixPath(relative).parts)


def link_problem(path: Path, root: Path, follow_external: bool) -> str | None:
    """Why a symlink (or a path through one) may not be read as content, or None if it may."""
    try:
        target = path.resolve(strict=True)
    except RuntimeError:  # Python 3.11 reports a loop this way
        return "is a symlink loop"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symlink loop"
        if exc.errno == errno.ENOENT:
            return "is a broken symlink (its target does not exist)"
        return f"cannot be read ({exc.strerror})"
    if not target.is_relative_to(root):
        if follow_external:
            return None
        return (
            "is a symlink to a path outside the content folder (not read; set "
            "PLAYBOOK_FOLLOW_EXTERNAL_SYMLINKS=true to allow it)"
        )
    if is_hidden(target.relative_to(root).as_posix()):
        return "is a symlink to a hidden path (names starting with '.' are not content)"
    return None


def scan_content(root: Path, follow_external: bool = False) -> tuple[list[Path], Skipped]:
    """Every visible `.md` file under root, sorted, and the paths skipped with their reason."""
    root = root.resolve()
    files: list[Path] = []
    skipped: Skipped = []
    seen = {root}
    stack: list[tuple[Path, int]] = [(root, 0)]
    while stack:
        folder, depth = stack.pop()
        for entry in _entries(folder, root, skipped):
            path = Path(entry.path)
            relative = path.relative_to(root).as_posix()
            problem = _entry_problem(entry, path, root, follow_external)
            if problem:
                if problem != "ignore":
                    skipped.append({"path": relative, "error": problem})
                continue
            if _is_dir(entry):
                problem = _folder_problem(path, depth, seen)
                if problem:
                    skipped.append({"path": relative, "error": problem})
                    continue
                stack.append((path, depth + 1))
            elif entry.name.endswith(".md") and _is_file(entry):
                files.append(path)
    return sorted(files), skipped


def _entries(folder: Path, root: Path, skipped: Skipped) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as listing:
            return sorted(listing, key=lambda e: e.name)
    except OSError as exc:
        relative = folder.relative_to(root).as_posix()
        skipped.append({"path": relative, "error": f"cannot be listed ({exc.strerror})"})
        return []


def _entry_problem(
    entry: os.DirEntry[str], path: Path, root: Path, follow_external: bool
) -> str | None:
    """A reason to skip the entry; "ignore" for what is silently not content."""
    if entry.name.startswith("."):
        return "ignore"
    if not entry.is_symlink():
        return None
    problem = link_problem(path, root, follow_external)
    if problem and not entry.name.endswith(".md") and not _is_dir(entry):
        return "ignore"  # a link to a non-Markdown file is not content anyway
    return problem


def _folder_problem(path: Path, depth: int, seen: set[Path]) -> str | None:
    real = path.resolve()
    if real in seen:
        return "is a symlink to a folder that is already read (a loop or a duplicate)"
    if depth + 1 > MAX_DEPTH:
        return f"is nested more than {MAX_DEPTH} folders deep; its contents are not read"
    seen.add(real)
    return None


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()  # regular files only: a FIFO named x.md would block a read
    except OSError:
        return False


def content_file(root: Path, source: str, follow_external: bool = False) -> Path:
    """The file for a path relative to the content folder, under the rules of `scan_content`.

    Raises ContentError with one sentence; never lets an OSError or RuntimeError through."""
    shown = source if len(source) <= 80 else source[:77] + "..."
    if (
        not source or len(source) > MAX_SOURCE_CHARS or "\x00" in source or "\\" in source
        or source.startswith("/") or ".." in PurePosixPath(source).parts
    ):
        raise ContentError(shown, "is not a path inside the content folder")
    if is_hidden(source):
        raise ContentError(shown, "is a hidden path (names starting with '.' are not content)")
    if not source.endswith(".md"):
        raise ContentError(shown, "is not a Markdown (.md) file")
    path = root / source
    if not os.path.lexists(path):
        raise ContentError(shown, "does not exist")
    problem = link_problem(path, root, follow_external)
    if problem:
        raise ContentError(shown, problem)
    try:
        if not path.is_file():
            raise ContentError(shown, "is not a file in the content folder")
    except OSError as exc:
        raise ContentError(shown, f"cannot be read ({exc.strerror})") from exc
    return path
