"""The gap report: clustering, which questions count as gaps, and the report over a real log of
real asks on a real index of the fixture playbook (owners from front matter)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from owners_common import index, owned_playbook

from rag.gaps import cluster, gap_reason, gaps, low_relevance_cut, to_json
from rag.questionlog import QuestionLog
from rag.settings import Settings


def _unit(rows: list[list[float]]) -> np.ndarray:
    m = np.asarray(rows, dtype=np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_cluster_groups_near_vectors_and_is_deterministic() -> None:
    vectors = _unit([[1, 0.05, 0], [1, 0, 0.05], [0, 1, 0], [0.05, 1, 0], [0, 0, 1]])
    labels = cluster(vectors, 0.3)
    assert labels[0] == labels[1] and labels[2] == labels[3]
    assert len({labels[0], labels[2], labels[4]}) == 3
    assert cluster(vectors, 0.3) == labels
    assert len(set(cluster(vectors, 1.9))) == 1  # a loose cut joins everything
    assert cluster(vectors[:1], 0.3) == [0] and cluster(vectors[:0], 0.3) == []


def test_gap_reasons() -> None:
    cut = low_relevance_cut(Settings())
    row = {"refused": False, "rating": None, "relevance": cut + 1}
    assert gap_reason(row, cut) is None
    assert gap_reason({**row, "refused": True}, cut) == "refused"
    assert gap_reason({**row, "relevance": cut - 0.01}, cut) == "low relevance"
    assert gap_reason({**row, "rating": -1}, cut) == "thumbs down"
    assert gap_reason({**row, "rating": 1, "relevance": None}, cut) is None


GAP_QUESTIONS = [
    "How do I book a flight for a conference?",
    "How do I book flights for conferences?",
    "Which airline should I book for a conference trip?",
    "How many days of parental leave do I get?",
    "What is the tallest mountain in Africa?",
]


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A real index with owners, and a log of real asks: five off-topic, one good answer and
    one answer given a thumbs down."""
    from rag.api import ask

    tmp = tmp_path_factory.mktemp("gaps")
    settings = index(tmp, owned_playbook(tmp, date.today().isoformat()), log_questions=True)
    for question in GAP_QUESTIONS:
        assert ask(question, settings).refused
    assert not ask("How small should a pull request be?", settings).refused
    disliked = ask("What should a new engineer do in the first week?", settings)
    assert not disliked.refused
    QuestionLog(settings.index_path).link_feedback("fb-1", disliked.question, -1)
    return settings


def test_gaps_groups_refused_and_disliked_questions(logged: Settings) -> None:
    groups = gaps(logged.model_copy(update={"gaps_cluster_distance": 0.5}))
    assert [g.count for g in groups] == sorted((g.count for g in groups), reverse=True)
    assert sum(g.count for g in groups) == len(GAP_QUESTIONS) + 1  # not the good answer
    flights = [g for g in groups if GAP_QUESTIONS[0] in g.examples]
    assert len(flights) == 1 and GAP_QUESTIONS[1] in flights[0].examples
    assert flights[0].count >= 2 and flights[0].reasons["refused"] == flights[0].count
    everything = [e for g in groups for e in g.examples]
    assert "How small should a pull request be?" not in everything
    disliked = [g for g in groups if "thumbs down" in g.reasons]
    assert disliked and "What should a new engineer do in the first week?" in disliked[0].examples
    for group in groups:
        assert 1 <= len(group.examples) <= 3 and len(group.articles) == 3
    owners = {a["article_id"]: a["owner"] for g in groups for a in g.articles}
    assert owners.get("code-reviews", "@platform-team") == "@platform-team"
    assert owners.get("teams/onboarding", "#onboarding") == "#onboarding"


def test_gaps_since_filters_by_time(logged: Settings) -> None:
    assert gaps(logged, since_days=1)  # asked just now
    import sqlite3

    log = QuestionLog(logged.index_path)
    with sqlite3.connect(log.path) as conn:
        conn.execute("UPDATE questions SET created = '2001-01-01T00:00:00+00:00' "
                     "WHERE question = ?", (GAP_QUESTIONS[4],))
    recent = [e for g in gaps(logged, since_days=30) for e in g.examples]
    assert GAP_QUESTIONS[4] not in recent
    assert GAP_QUESTIONS[4] in [e for g in gaps(logged) for e in g.examples]


def test_gaps_command_json_and_table(
    logged: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    from ui.cli import main

    where = ["--content", str(logged.content_dir), "--index", str(logged.index_dir)]
    assert main(["gaps", "--json", *where]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == to_json(gaps(logged))
    assert {"count", "examples", "reasons", "articles", "last_asked"} <= set(data[0])
    assert main(["gaps", "--since", "7", *where]) == 0
    out = capsys.readouterr().out
    assert "Unanswered topics (the last 7 days)" in out and "refused" in out


def test_gaps_on_an_empty_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ui.cli import main

    settings = Settings(index_dir=tmp_path)
    assert gaps(settings) == []
    assert main(["gaps", "--index", str(tmp_path)]) == 0
    assert "No refused" in capsys.readouterr().out


def test_gaps_page_html_escapes_and_lists_groups(logged: Settings) -> None:
    from ui.gaps import gaps_html

    html = gaps_html(logged, 0)
    assert 'id="pb-gaps-table"' in html and "How do I book a flight" in html
    assert "@platform-team" in html or "#onboarding" in html or "no owner" in html
    empty = gaps_html(logged.model_copy(update={"index_dir": logged.index_dir / "none"}), 7)
    assert "No refused" in empty
