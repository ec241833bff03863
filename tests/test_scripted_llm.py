"""`playbook ask --llm openai --json` end to end against a scripted OpenAI-compatible server.

The server (tests/scripted_llm.py, a real HTTP server on 127.0.0.1 in its own process) answers
with fixed text built from the bundled article content/building-trust.md: faithful sentences the
checker must keep, and sentences a person would reject (a reversal, an invented tail, a repeat,
a number found in no passage, a citation number matching no passage) that it must drop.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from scripted_llm import ScriptedLLM

pytestmark = pytest.mark.slow  # starts servers or several processes: not in the fast tier

ROOT = Path(__file__).parent.parent
QUESTION = "How do I approach a tribal team?"

GOOD = [  # (sentence as the model writes it, with its [n])
    "Assume positive intent: assume the team is making decisions with the best of intent [1].",
    "Ask for an overview of how the system works, listen intently and ask relevant, "
    "judgment-free questions [1].",
    "Offer to join the war rooms even if you don't have to [1].",
    "Offer to take on some of the tasks the team hates, like overnight change requests and "
    "customer support tickets [1].",
    "Trust is built more by asking for help than by giving help [1].",
]
BAD = {
    "reversal": "Trust is built more by giving help rather than asking for help [1].",
    "negation": "Do not assume positive intent when the team makes decisions [1].",
    "invented tail": "Offer to join the war rooms, and insist that the team's manager publicly "
                     "rewards you for every incident you attend [1].",
    "number": "Spend at least 30 days in the war rooms before you propose any improvements [1].",
}


# The invented tail copies a passage sentence's opening and adds words the passage never uses:
# the rules' copy-then-drift check rejects it; the learned checker showed it until its refit on
# the grown dev split (2026-12-02, threshold 0.33 -> 0.38), and drops it now. A sentence of
# BAD the learned model lets through goes here (and is then asserted shown, not dropped).
LEARNED_MISSES: set[str] = set()


def ask(settings: Any, url: str, model: str = "") -> dict[str, Any]:
    """`python -m ui.cli ask QUESTION --llm openai --json` as a new process (`model`: the
    checker's support_model, default when empty)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYBOOK_")}
    if model:
        env["PLAYBOOK_SUPPORT_MODEL"] = model
    env.update({"PLAYBOOK_OPENAI_BASE_URL": url, "PLAYBOOK_OPENAI_MODEL": "scripted",
                "HF_HUB_OFFLINE": "1",
                # the checks of what the model said are tested here, not the first-token budget
                # (a loaded CI machine once took over 4 s to read the scripted first token)
                "PLAYBOOK_LLM_FIRST_TOKEN_TIMEOUT": "60"})
    done = subprocess.run(
        [sys.executable, "-m", "ui.cli", "ask", QUESTION, "--llm", "openai", "--json",
         "--content", str(settings.content_dir), "--index", str(settings.index_dir)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def plain(sentence: str) -> str:
    """The sentence as it appears in the JSON: without its [n] markers."""
    return re.sub(r"\s*\[\d+\]", "", sentence).strip()


def by_text(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["text"]: s for s in answer["sentences"]}


@pytest.mark.parametrize("model", ["rules", "learned"])
def test_good_sentences_kept_bad_ones_dropped_repeats_removed(trust, tmp_path: Path,  # noqa: ANN001
                                                              model: str) -> None:
    # An exact repeat mid-answer stops the generation (rag/answerers/draft.py: tested in
    # test_llm_local); the near-duplicate at the end is the checker's to drop.
    reply = " ".join([GOOD[0], BAD["reversal"], GOOD[1], BAD["invented tail"],
                      GOOD[2], BAD["number"], GOOD[3], BAD["negation"], GOOD[4],
                      "Offer to join the war rooms, even if you do not have to [1]."])
    with ScriptedLLM({"replies": [{"when": "tribal", "text": reply}]}, tmp_path) as llm:
        answer = ask(trust, llm.url, model)
        prompts = llm.requests()
    assert prompts and prompts[0]["stream"] is True and "war rooms" in json.dumps(prompts[0])
    assert answer["answerer"] == "openai", answer["notice"]
    sentences = by_text(answer)
    texts = [s["text"] for s in answer["sentences"]]
    assert len(texts) == len(set(texts)) == len(GOOD) + len(BAD), texts  # repeats removed
    for good in GOOD:
        shown = sentences[plain(good)]
        assert shown["verified"] and not shown["dropped"] and shown["citations"], shown
        assert plain(good) in answer["answer"]
    missed = LEARNED_MISSES if model == "learned" else set()
    for kind, bad in BAD.items():
        shown = sentences[plain(bad)]
        if kind in missed:
            assert shown["verified"], (kind, shown)  # a known miss of the learned model
            continue
        assert shown["dropped"] and not shown["verified"], (kind, shown)
        assert plain(bad) not in answer["answer"], kind
    assert "30 days" not in answer["answer"]
    assert answer["answer"].count("war rooms even if") == 1
    assert f"Removed {len(BAD) - len(missed)} unsupported" in answer["notice"]


def test_citation_number_matching_no_passage_is_removed(trust, tmp_path: Path) -> None:  # noqa: ANN001
    reply = "Offer to join the war rooms even if you don't have to [1][9]. " + GOOD[4]
    with ScriptedLLM({"replies": [{"when": "tribal", "text": reply}]}, tmp_path) as llm:
        answer = ask(trust, llm.url)
    numbers = {c["n"] for c in answer["citations"]}
    assert 9 not in numbers and "[9]" not in answer["answer"]
    first = by_text(answer)[plain(GOOD[2])]
    assert first["verified"] and 9 not in first["citations"]
    assert "1 citation number(s) matching no passage" in answer["notice"]


@pytest.mark.parametrize("model", ["rules", "learned"])
def test_too_little_survives_falls_back_to_extractive(trust, tmp_path: Path,  # noqa: ANN001
                                                      model: str) -> None:
    reply = " ".join([GOOD[2], *BAD.values(), "It depends on the team [1]."])
    with ScriptedLLM({"replies": [{"when": "tribal", "text": reply}]}, tmp_path) as llm:
        answer = ask(trust, llm.url, model)
    assert answer["answerer"] == "openai>extractive"
    kept = 1 + (len(LEARNED_MISSES) if model == "learned" else 0)
    assert f"Only {kept} of 6 generated sentences" in answer["notice"], answer["notice"]
    assert all(s["verified"] for s in answer["sentences"])
    assert "30 days" not in answer["answer"] and "giving help rather" not in answer["answer"]


def test_scripted_server_answers_without_streaming(tmp_path: Path) -> None:
    """The non-streaming path of the scripted server, through the real openai client."""
    openai = pytest.importorskip("openai")
    with ScriptedLLM({"default": GOOD[4]}, tmp_path) as llm:
        client = openai.OpenAI(base_url=llm.url, api_key="not-needed", max_retries=0)
        assert [m.id for m in client.models.list()] == ["scripted"]
        reply = client.chat.completions.create(
            model="scripted", messages=[{"role": "user", "content": "anything"}], stream=False)
    assert reply.choices[0].message.content == GOOD[4]
