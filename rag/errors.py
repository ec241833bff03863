"""The error hierarchy. Every user-facing failure is one of these, with a one-sentence message."""

from __future__ import annotations


class PlaybookError(Exception):
    """Base class: the message is one clear sentence naming the file, the problem or the fix."""


class ContentError(PlaybookError):
    """An article cannot be read: bad front matter, bad encoding, binary or empty file."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class IndexMissingError(PlaybookError):
    """There is no usable index where the settings point."""


class IndexCorruptError(PlaybookError):
    """The index exists but cannot be read."""


class SettingsError(PlaybookError):
    """A setting (environment variable or command-line flag) has a value it does not accept."""


class QuestionError(PlaybookError):
    """The question is empty or cannot be used."""


class BackendMissingError(PlaybookError):
    """An optional package needed by the configured backend is not installed."""


class LLMError(PlaybookError):
    """The language model failed, timed out or returned something unusable."""


def missing_package(package: str, extra: str, purpose: str) -> BackendMissingError:
    """Build the error raised when an optional package is absent."""
    return BackendMissingError(
        f"{purpose} needs the '{package}' package: run `pip install 'playbook-qa[{extra}]'`."
    )
