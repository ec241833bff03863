"""Helpers for the content-owner tests: the fixture playbook in a real git repository with
owner/review front matter and commits at fixed dates, and a real index of it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"

# code-reviews: reviewed long ago, every 6 months -> stale. onboarding: GOV.UK Tech Docs keys,
# reviewed recently (relative to today) -> fresh. building-trust: no front matter for owners.
CODE_REVIEWS_META = "owner: '@platform-team'\nreviewed: 2024-01-10\nreview_every: 6 months\n"


def git(repo: Path, *args: str, date: str = "2024-03-01T12:00:00+00:00") -> str:
    """Run git in `repo` with fixed author/committer dates and identity."""
    env = {**os.environ, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date,
           "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "t@example.org",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    done = subprocess.run(["git", "-C", str(repo), *args], env=env, capture_output=True,
                          text=True, check=True)
    return done.stdout


def owned_playbook(tmp: Path, onboarding_reviewed: str) -> Path:
    """tmp/repo (a git repository) with the fixture playbook under docs/; returns docs/.

    Two commits: everything on 2024-03-01, then teams/onboarding.md on 2024-06-15."""
    repo = tmp / "repo"
    content = repo / "docs"
    shutil.copytree(FIXTURES / "playbook", content)
    reviews = content / "code-reviews.md"
    reviews.write_text(reviews.read_text().replace(
        "tags: [engineering, reviews]\n", "tags: [engineering, reviews]\n" + CODE_REVIEWS_META
    ))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "playbook")
    onboarding = content / "teams" / "onboarding.md"
    onboarding.write_text(
        "---\ntitle: Onboarding a New Engineer\nowner_slack: '#onboarding'\n"
        f"last_reviewed_on: {onboarding_reviewed}\nreview_in: 12 months\n---\n"
        + onboarding.read_text()
    )
    git(repo, "commit", "-q", "-am", "onboarding owners", date="2024-06-15T09:30:00+02:00")
    return content


def index(tmp: Path, content: Path, **overrides: object):  # noqa: ANN201
    """Ingest `content` for real into tmp/index; Settings pointing at it."""
    from ingest.pipeline import run
    from rag.settings import Settings

    settings = Settings.model_validate(
        {"content_dir": content, "index_dir": tmp / "index", **overrides}
    )
    run(settings)
    return settings
