"""Owners and freshness: front-matter keys and aliases, git dates from a real repository, the
fields on citations of a real index, the stale notice and `playbook stale`."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from owners_common import git, index, owned_playbook

from rag.freshness import (
    add_interval,
    from_metadata,
    git_dates,
    parse_date,
    parse_interval,
)
from rag.settings import Settings

RECENT = (date.today() - timedelta(days=40)).isoformat()


@pytest.mark.parametrize(("text", "expected"), [
    ("6 months", (6, 0)), ("1 year", (12, 0)), ("90 days", (0, 90)), ("2 weeks", (0, 14)),
    (" 12 Months ", (12, 0)), ("soon", None), ("", None), ("6", None),
])
def test_parse_interval(text: str, expected: tuple[int, int] | None) -> None:
    assert parse_interval(text) == expected


def test_add_interval_clamps_month_ends_and_counts_days() -> None:
    assert add_interval(date(2024, 8, 31), (6, 0)) == date(2025, 2, 28)
    assert add_interval(date(2024, 1, 10), (12, 0)) == date(2025, 1, 10)
    assert add_interval(date(2024, 1, 10), (0, 90)) == date(2024, 4, 9)


def test_parse_date_takes_yaml_dates_iso_text_and_rejects_junk() -> None:
    assert parse_date(date(2024, 11, 5)) == date(2024, 11, 5)
    assert parse_date("2024-11-05") == date(2024, 11, 5)
    assert parse_date("2024-11-05T10:00:00Z") == date(2024, 11, 5)
    assert parse_date("last week") is None


def test_front_matter_keys_and_govuk_aliases() -> None:
    own = from_metadata({"owner": "ann", "reviewed": "2024-01-10", "review_every": "6 months"})
    assert (own.owner, own.due) == ("ann", date(2024, 7, 10))
    assert own.stale(date(2024, 7, 11)) and not own.stale(date(2024, 7, 10))
    govuk = from_metadata({"owner_slack": "#team", "last_reviewed_on": "2024-11-05",
                           "review_in": "12 months"})
    assert (govuk.owner, govuk.due, govuk.updated) == ("#team", date(2025, 11, 5),
                                                       date(2024, 11, 5))
    assert from_metadata({"review_by": "2030-01-01"}).due == date(2030, 1, 1)
    assert from_metadata({"title": "no owner"}).due is None


def test_aliases_are_settable() -> None:
    settings = Settings(front_matter_aliases={"owner": ["steward_team"],
                                              "review_every": ["cadence"]})
    fresh = from_metadata({"steward_team": "ops", "reviewed": "2024-01-01",
                           "cadence": "1 year"}, settings)
    assert (fresh.owner, fresh.due) == ("ops", date(2025, 1, 1))


def test_interval_without_review_date_counts_from_the_last_commit() -> None:
    fresh = from_metadata({"review_every": "90 days"}, committed=date(2024, 3, 1))
    assert fresh.due == date(2024, 5, 30)
    assert fresh.updated == date(2024, 3, 1)


def test_git_dates_from_a_real_repository(tmp_path: Path) -> None:
    content = owned_playbook(tmp_path, RECENT)
    dates = git_dates(content)
    assert dates["code-reviews.md"] == date(2024, 3, 1)
    assert dates["teams/onboarding.md"] == date(2024, 6, 15)  # the second commit
    assert git_dates(tmp_path / "repo" / "nothing-here") == {}  # git fails: no dates, no error
    plain = tmp_path / "plain"
    plain.mkdir()
    assert git_dates(plain) == {}


@pytest.fixture(scope="module")
def owned(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tmp = tmp_path_factory.mktemp("owned")
    return index(tmp, owned_playbook(tmp, RECENT))


def test_ask_json_citations_carry_owner_updated_stale(owned: Settings) -> None:
    from rag.api import ask

    answer = ask("How small should a pull request be?", owned).to_json()
    cites = {c["article_id"]: c for c in answer["citations"]}  # type: ignore[union-attr]
    reviews = cites["code-reviews"]
    assert reviews["owner"] == "@platform-team"
    assert reviews["updated"] == "2024-03-01"  # the commit is newer than the review
    assert reviews["stale"] is True
    onboarding = cites["teams/onboarding"]
    assert (onboarding["owner"], onboarding["updated"], onboarding["stale"]) == (
        "#onboarding", RECENT, False)


def test_notice_only_when_every_cited_passage_is_stale(owned: Settings) -> None:
    from rag.api import ask
    from rag.freshness import STALE_NOTICE

    stale_only = ask("What does the must: prefix mean in a review comment?", owned)
    cited = [c for c in stale_only.citations if f"[{c.n}]" in stale_only.answer]
    assert cited and all(c.article_id == "code-reviews" for c in cited)
    assert STALE_NOTICE in stale_only.notice
    fresh = ask("What should happen on a new engineer's first day?", owned)
    assert STALE_NOTICE not in fresh.notice


def test_stale_command_lists_overdue_articles_most_cited_first(
    owned: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    from ui.cli import main

    args = ["stale", "--json", "--content", str(owned.content_dir),
            "--index", str(owned.index_dir)]
    assert main(args) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["article_id"] for r in rows] == ["code-reviews"]
    assert rows[0]["due"] == "2024-07-10" and rows[0]["owner"] == "@platform-team"
    assert main([a for a in args if a != "--json"]) == 0
    assert "Code Reviews That Help" in capsys.readouterr().out


def test_source_card_shows_updated_owner_and_stale_mark() -> None:
    from ui.freshness import ago
    from ui.render import source_html

    cite = {"n": 1, "title": "T", "heading": "H", "text": "x", "source": "a.md", "anchor": "",
            "owner": "@ops", "updated": (date.today() - timedelta(days=95)).isoformat(),
            "stale": True}
    html = source_html(cite, open_=True)
    assert "updated 3 months ago · @ops" in html and "past its review date" in html
    assert "pb-stale" in html
    assert "pb-fresh" not in source_html({**cite, "owner": "", "updated": "", "stale": False},
                                         open_=True)
    assert ago(date(2024, 1, 1), date(2026, 1, 2)) == "2 years ago"
    assert ago(date(2024, 1, 1), date(2024, 1, 1)) == "today"


def test_stale_ordering_uses_citation_counts(tmp_path: Path) -> None:
    """Two overdue articles: the one cited more in the log comes first."""
    from rag.api import ask
    from rag.freshness import stale_articles

    content = owned_playbook(tmp_path, "2020-01-01")  # onboarding overdue too, and longer
    git(content.parent, "status")  # the repository is real and readable
    settings = index(tmp_path, content, log_questions=True)
    assert [a["article_id"] for a in stale_articles(settings)][0] == "teams/onboarding"
    for _ in range(2):
        ask("What does the must: prefix mean in a review comment?", settings)
    ranked = stale_articles(settings)
    assert [a["article_id"] for a in ranked] == ["code-reviews", "teams/onboarding"]
    assert ranked[0]["citations"] == 2 and ranked[1]["citations"] == 0
