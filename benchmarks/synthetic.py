"""A seeded synthetic playbook: realistic Markdown articles built from real sentences.

Sentences, list items and headings are drawn from the cwe-playbook corpus (or from a small
built-in pool when it is absent) and recombined per article: front matter, an intro, 3-7
sections with sub-headings, bullet and numbered lists, the odd table and code block. The same
seed always gives the same files, so figures at 1k / 10k / 100k chunks are reproducible.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from benchmarks.common import CWE

_FALLBACK = [
    "Agree on a definition of done before the sprint starts.",
    "Keep pull requests small so reviews stay quick and thorough.",
    "Write down the decision and the options you rejected.",
    "Automate the build so every commit is tested the same way.",
    "Rotate secrets regularly and never store them in the repository.",
    "Measure before optimising, and keep the benchmark in version control.",
]
TOPICS = ["Code reviews", "Observability", "Security", "Testing", "Onboarding", "Design",
          "Continuous delivery", "Documentation", "Retrospectives", "Pair programming",
          "Incident response", "Accessibility", "Data privacy", "Release planning"]


def sentence_pool(corpus: Path = CWE, limit: int = 20000) -> tuple[list[str], list[str]]:
    """(sentences, headings) harvested from a Markdown corpus."""
    sentences: list[str] = []
    headings: list[str] = []
    for path in sorted(corpus.rglob("*.md")) if corpus.is_dir() else []:
        in_code = False
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("```"):
                in_code = not in_code
                continue
            text = line.strip().lstrip("-*0123456789. ").strip()
            if in_code or not text or text.startswith(("|", "<", "!", "[!")):
                continue
            if line.startswith("#"):
                headings.append(text.lstrip("# ").strip())
                continue
            for part in re.split(r"(?<=[.!?])\s+", text):
                if 30 <= len(part) <= 300 and part[0].isupper():
                    sentences.append(part)
        if len(sentences) >= limit:
            break
    return (sentences or _FALLBACK), (headings or TOPICS)


def article(rng: random.Random, number: int, sentences: list[str], headings: list[str]) -> str:
    """One Markdown article with front matter."""
    topic = rng.choice(TOPICS)
    title = f"{topic}: {rng.choice(headings)}"
    lines = ["---", f"id: synthetic-{number:06d}", f'title: "{title}"', "---", "",
             f"# {title}", "", _paragraph(rng, sentences, 2, 4), ""]
    for _ in range(rng.randint(3, 6)):
        lines += [f"## {rng.choice(headings)}", "", _paragraph(rng, sentences, 2, 5), ""]
        kind = rng.random()
        if kind < 0.45:
            lines += [f"- {rng.choice(sentences)}" for _ in range(rng.randint(3, 6))] + [""]
        elif kind < 0.6:
            lines += [f"{i}. {rng.choice(sentences)}" for i in range(1, rng.randint(3, 6))] + [""]
        elif kind < 0.68:
            lines += ["| practice | why |", "|---|---|"]
            lines += [f"| {rng.choice(headings)} | {rng.choice(sentences)} |" for _ in range(3)]
            lines += [""]
        elif kind < 0.74:
            lines += ["```bash", f"make test TARGET={rng.choice(TOPICS).lower().replace(' ', '-')}",
                      "```", ""]
        if rng.random() < 0.5:
            lines += [f"### {rng.choice(headings)}", "", _paragraph(rng, sentences, 1, 4), ""]
    return "\n".join(lines)


def _paragraph(rng: random.Random, sentences: list[str], low: int, high: int) -> str:
    return " ".join(rng.choice(sentences) for _ in range(rng.randint(low, high)))


def write_corpus(target: Path, articles: int, seed: int = 13) -> list[Path]:
    """Write `articles` seeded articles (topic sub-folders) into `target`; returns the files."""
    rng = random.Random(seed)
    sentences, headings = sentence_pool()
    files = []
    for number in range(articles):
        folder = target / TOPICS[number % len(TOPICS)].lower().replace(" ", "-")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"article-{number:06d}.md"
        path.write_text(article(rng, number, sentences, headings), encoding="utf-8")
        files.append(path)
    return files
