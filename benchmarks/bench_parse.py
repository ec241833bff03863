"""Parse and chunk time per MB, for normal and pathological Markdown, from 10 KB to 5 MB.

Linear parsing means seconds per MB stay flat as the input grows. Each input is one article,
generated here: `normal` is ordinary Markdown (headings, paragraphs, lists, tables, code); the
others are the shapes that were quadratic before (a heading-like line with a huge run of spaces,
a list item followed by blank lines, one huge paragraph) and runs of backticks, pipes, brackets
and template tags. Parse = `parse_article` (front matter, markup stripping, blocks); chunk =
`chunk_article` with the real MiniLM tokenizer (token counting is most of its time).

    python -m benchmarks.bench_parse                      # 10 KB, 100 KB, 1 MB, 5 MB
    python -m benchmarks.bench_parse --sizes 10000 100000 --kinds normal long-heading
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

from ingest.articles import parse_article
from ingest.chunker import chunk_article
from rag.embedder import count_tokens_factory

NORMAL = [
    "## Working with a new team\n\n",
    "Meet the team early and ask how they like to work. Agree on one channel for questions, "
    "and write down what you decided so newcomers can find it later.\n\n",
    "- Ask for an overview of the system\n- Pair on a small task\n- Share what you learn\n\n",
    "| role | owner |\n|---|---|\n| review | team lead |\n| deploy | on-call |\n\n",
    "```\nmake test && make deploy\n```\n\n",
]


def _repeat(prefix: str, unit: str, suffix: str) -> Callable[[int], str]:
    def build(size: int) -> str:
        n = max(1, (size - len(prefix) - len(suffix)) // len(unit))
        return prefix + unit * n + suffix + "\n\nClosing text.\n"
    return build


def _normal(size: int) -> str:
    out, n, total = ["# Title\n\n"], 0, 9
    while total < size:
        out.append(NORMAL[n % len(NORMAL)])
        total += len(out[-1])
        n += 1
    return "".join(out)


KINDS: dict[str, Callable[[int], str]] = {
    "normal": _normal,
    "long-heading": _repeat("# a", " ", "b"),
    "blank-run": _repeat("- item\n", "\n", "    indented\n"),
    "one-paragraph": _repeat("", "word ", ""),
    "backticks": _repeat("", "`` ` ", ""),
    "pipes": _repeat("| a |\n-", " |", " x"),
    "brackets": _repeat("# ", "[a](", ""),
    "template-tags": _repeat("", "{% x {{ <% <!-- ", ""),
}


def measure(text: str, count: Callable[[str], int]) -> tuple[float, float, int]:
    """(parse seconds, chunk seconds, chunks), best of enough repeats to last ~0.3 s."""
    raw = text.encode("utf-8")
    best_parse = best_chunk = float("inf")
    chunks, spent, runs = 0, 0.0, 0
    while runs < 1 or (spent < 0.3 and runs < 20):
        start = time.perf_counter()
        article = parse_article(raw, "bench.md")
        parsed = time.perf_counter()
        chunks = len(chunk_article(article, count))
        done = time.perf_counter()
        best_parse = min(best_parse, parsed - start)
        best_chunk = min(best_chunk, done - parsed)
        spent += done - start
        runs += 1
    return best_parse, best_chunk, chunks


def main(argv: list[str] | None = None) -> None:
    """Print a table of s/MB per input kind and size, then one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[10_000, 100_000, 1_000_000, 5_000_000])
    parser.add_argument("--kinds", nargs="+", choices=list(KINDS), default=list(KINDS))
    args = parser.parse_args(argv)
    count = count_tokens_factory("all-MiniLM-L6-v2")
    rows = []
    print(f"{'input':<15}{'size':>10}{'parse s/MB':>12}{'chunk s/MB':>12}{'total s':>10}"
          f"{'chunks':>8}")
    for kind in args.kinds:
        for size in args.sizes:
            text = KINDS[kind](size)
            parse_s, chunk_s, chunks = measure(text, count)
            mb = len(text.encode("utf-8")) / 1e6
            row = {"input": kind, "bytes": len(text.encode("utf-8")),
                   "parse_s_per_mb": round(parse_s / mb, 3),
                   "chunk_s_per_mb": round(chunk_s / mb, 3),
                   "total_s": round(parse_s + chunk_s, 3), "chunks": chunks}
            rows.append(row)
            print(f"{kind:<15}{_size(row['bytes']):>10}{row['parse_s_per_mb']:>12.3f}"
                  f"{row['chunk_s_per_mb']:>12.3f}{row['total_s']:>10.3f}{chunks:>8}",
                  flush=True)
    print(json.dumps({"benchmark": "parse", "rows": rows}))


def _size(n: int) -> str:
    return f"{n / 1e6:.0f} MB" if n >= 1_000_000 else f"{n / 1e3:.0f} KB"


if __name__ == "__main__":
    main()
