"""The BEIR runner on a small hand-made BEIR dataset, through the real ingest and retrieval."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.beir import read_qrels, run_beir, write_corpus
from rag.errors import PlaybookError

pytestmark = pytest.mark.slow  # starts servers or several processes: not in the fast tier

DOCS = [
    ("d1", "Sourdough starter", "Feed a sourdough starter with flour and water every day to keep "
     "the wild yeast active before baking bread."),
    ("d2", "Volcanic eruptions", "Magma rises through the crust and erupts as lava; volcanic ash "
     "clouds disrupt air traffic for days."),
    ("d3", "Tidal forces", "The gravitational pull of the moon causes ocean tides, with two high "
     "tides roughly every twenty-five hours."),
    ("d4", "Photosynthesis", "Plants convert sunlight, water and carbon dioxide into glucose and "
     "oxygen inside their chloroplasts."),
    ("d5", "Honey bees", "Worker bees perform a waggle dance to tell the hive where flowers with "
     "nectar are found."),
    ("d6", "Bread crust", "A hot oven and steam give bread a crisp, dark crust through the "
     "Maillard reaction."),
]
QUERIES = [
    ("q1", "what makes the ocean tide rise and fall"),
    ("q2", "how do bees communicate where food is"),
    ("q3", "how do plants make sugar from light"),
    ("q4", "baking bread with yeast and a good crust"),
    ("q5", "a query nobody judged"),
]
QRELS = "query-id\tcorpus-id\tscore\nq1\td3\t1\nq2\td5\t1\nq3\td4\t1\nq4\td1\t2\nq4\td6\t1\n"


def _dataset(root: Path) -> tuple[Path, Path]:
    folder = root / "toy"
    (folder / "qrels").mkdir(parents=True)
    docs = [json.dumps({"_id": i, "title": t, "text": x}) for i, t, x in DOCS]
    (folder / "corpus.jsonl").write_text("\n".join(docs) + "\n")
    queries = [json.dumps({"_id": i, "text": t}) for i, t in QUERIES]
    (folder / "queries.jsonl").write_text("\n".join(queries) + "\n")
    (folder / "qrels" / "test.tsv").write_text(QRELS)
    return folder, folder / "qrels" / "test.tsv"


def test_qrels_skip_header_and_keep_grades(tmp_path: Path) -> None:
    _, qrels = _dataset(tmp_path)
    assert read_qrels(qrels)["q4"] == {"d1": 2.0, "d6": 1.0}
    empty = tmp_path / "empty.tsv"
    empty.write_text("query-id\tcorpus-id\tscore\n")
    with pytest.raises(PlaybookError, match="no judgements"):
        read_qrels(empty)


def test_corpus_files_rewritten_only_when_changed(tmp_path: Path) -> None:
    content = tmp_path / "content"
    corpus = [{"_id": i, "title": t, "text": x} for i, t, x in DOCS]
    assert write_corpus(corpus, content) == 6
    first = (content / "d1.md").stat().st_mtime_ns
    assert (content / "d1.md").read_text().startswith('---\nid: "d1"\ntitle: "Sourdough starter"')
    write_corpus(corpus[:5], content)  # d6 dropped, d1 unchanged
    assert (content / "d1.md").stat().st_mtime_ns == first
    assert not (content / "d6.md").exists()


def test_beir_run_scores_each_retriever(tmp_path: Path) -> None:
    from rag.settings import Settings

    folder, qrels = _dataset(tmp_path)
    settings = Settings(content_dir=tmp_path / "unused", index_dir=tmp_path / "unused-index")
    result = run_beir(folder, qrels, settings, cache=tmp_path / "cache")
    assert (result["queries"], result["documents"], result["split"]) == (4, 6, "test")
    assert set(result["metrics"]) == {"dense", "bm25", "hybrid"}
    dense, hybrid = result["metrics"]["dense"], result["metrics"]["hybrid"]
    # every query has an unambiguous best document in this corpus
    assert dense["hit@1"] == 1.0
    assert hybrid["hit@1"] == 1.0
    assert hybrid["recall@100"] == 1.0
    assert 0.9 <= hybrid["ndcg@10"] <= 1.0
    # q4's graded judgements: the grade-2 document must come first for a perfect nDCG
    assert hybrid["mrr@10"] == 1.0


def test_beir_cli_prints_table_and_writes_json(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    from ui.cli import main

    folder, qrels = _dataset(tmp_path)
    out = tmp_path / "out"
    code = main(["eval", "--beir", str(folder), "--qrels", str(qrels), "--out", str(out),
                 "--cache", str(tmp_path / "cache")])
    printed = capsys.readouterr().out
    assert code == 0
    assert "nDCG@10" in printed and "hybrid" in printed and "bm25" in printed
    saved = json.loads((out / "beir-toy-test.json").read_text())
    assert saved["metrics"]["bm25"]["hit@1"] == 1.0
    assert main(["eval", "--beir", str(folder)]) == 1  # --qrels missing: one-line user error
