"""Ingest fidelity: which words a reader of the rendered page sees are lost, leaked or doubled.

For every article of a corpus, two bags of words are compared:

- the reader's: the file rendered on its own, independently of ingest/: front matter dropped,
  template tags (`{% %}`, `{{ }}`, `<% %>`; outside fenced code, where they are example text)
  dropped except the text inside `{% raw %}`, then markdown-it-py (CommonMark + tables +
  strikethrough, HTML on) to tokens: text, inline code, code blocks, headings, and the text of
  HTML blocks with their tags, comments, scripts and styles stripped. Link URLs and image alt
  texts are not words a reader sees.
- ours: the chunks `ingest.pipeline` makes of the file (`load_articles` + `chunk_article`, the
  real tokenizer and the default budget), each chunk's `text` read the way the answer page
  shows it (Markdown with HTML shown as text, so markup that leaks is counted), plus each
  heading of the chunks' heading paths once. Titles are left out on both sides.

Words are runs of letters and digits, case-folded. Kept = the multiset intersection. Leaked =
chunk words the reader never sees in that article; doubled = words the chunks hold more often
than the page, shown as the 8-word runs that repeat. Examples of lost passages come from a
word alignment (difflib) of the worst articles only, so a whole corpus takes seconds.

    python -m benchmarks.ingest_fidelity                 # every corpus
    python -m benchmarks.ingest_fidelity --corpus 18f --top 15 [--json]
"""

from __future__ import annotations

import argparse
import difflib
import html
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from ingest.chunker import chunk_article
from ingest.pipeline import load_articles
from rag.chunk import Chunk
from rag.embedder import count_tokens_factory
from rag.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
CORPORA = {
    "18f": ROOT.parent / "shared" / "corpora" / "18f-handbook" / "pages",
    "cwe": ROOT.parent / "shared" / "corpora" / "cwe-playbook" / "docs",
    "playbook": ROOT / "content",
    "npm": ROOT / "evals" / "corpora" / "npm-docs",
    "node": ROOT / "evals" / "corpora" / "node-contributing",
}
_WORD = re.compile(r"[^\W_]+")
_FRONT = re.compile(r"\A---[ \t]*\n.*?^(?:---|\.\.\.)[ \t]*$\n?", re.DOTALL | re.MULTILINE)
_FENCE_LINE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_COMMENT_TAG = re.compile(r"\{%-?\s*comment\s*-?%\}.*?\{%-?\s*endcomment\s*-?%\}", re.DOTALL)
_RAW_TAG = re.compile(r"\{%-?\s*raw\s*-?%\}(.*?)\{%-?\s*endraw\s*-?%\}", re.DOTALL)
_TEMPLATE = re.compile(r"\{%.{0,2000}?%\}|\{\{.{0,2000}?\}\}|<%.{0,2000}?%>", re.DOTALL)
_RAW_MARKER = re.compile(r"\{%-?\s*(?:end)?raw\s*-?%\}")
_QUOTED = re.compile(r'"([^"]*)"|\'([^\']*)\'')
# What the 18F handbook's shortcodes print (its config/shortcodes/*.js): a Slack link shows
# its display name, else "#channel"; an alert shows its heading. Others print URLs or markup.
_SHOWN = {
    "slack_channel": lambda args: args[1] if len(args) > 1 else "#" + args[0].lstrip("#"),
    "alert": lambda args: args[0],
}
_INVISIBLE_HTML = re.compile(
    r"<!--.*?-->|<(script|style)\b.*?</\1\s*>", re.DOTALL | re.IGNORECASE
)
_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<!--|-->")
_READER = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
_PAGE = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
NGRAM = 8


def words(text: str) -> list[str]:
    """The words of a text: runs of letters and digits, case-folded."""
    return _WORD.findall(text.casefold())


def reader_text(raw: str) -> str:
    """What a reader of the rendered page sees of a Markdown file, as plain text."""
    text = _FRONT.sub("", raw.replace("\r\n", "\n"), count=1)
    return "\n".join(_token_texts(_READER.parse(_without_templates(text)), html_visible=True))


def _without_templates(text: str) -> str:
    """Template tags removed outside fenced code; `{% raw %}` keeps its text, a comment goes."""
    out: list[str] = []
    prose: list[str] = []
    fence = ""
    for line in text.split("\n"):
        opened = _FENCE_LINE.match(line)
        if fence or opened:
            if prose:
                out.append(_strip_templates("\n".join(prose)))
                prose = []
            out.append(_RAW_MARKER.sub("", line))  # code shows what {% raw %} encloses
            if not fence and opened:
                fence = opened.group(1)
            elif fence and line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                fence = ""
            continue
        prose.append(line)
    if prose:
        out.append(_strip_templates("\n".join(prose)))
    return "\n".join(out)


def _strip_templates(text: str) -> str:
    text = _COMMENT_TAG.sub("", text)
    kept: list[str] = []  # raw texts, put back after the other tags are gone

    def hold(match: re.Match[str]) -> str:
        kept.append(match.group(1))
        return f"\x00{len(kept) - 1}\x00"

    text = _TEMPLATE.sub(_shown, _RAW_TAG.sub(hold, text))
    return re.sub("\x00(\\d+)\x00", lambda m: kept[int(m.group(1))], text)


def _shown(match: re.Match[str]) -> str:
    """What a tag prints: a URL where a link wants one, a shortcode's text, else nothing."""
    before = match.string[max(0, match.start() - 3) : match.start()]
    if before.endswith("](") or re.search(r"\]:\s*$", before):
        return "/"
    name = re.match(r"\{%-?\s*(\w+)", match.group())
    args = [a or b for a, b in _QUOTED.findall(match.group())]
    if name and name.group(1) in _SHOWN and args and args[0]:
        return str(_SHOWN[name.group(1)](args))
    return ""


def page_text(chunk_text: str) -> str:
    """A chunk's text as the answer page shows it: Markdown rendered, HTML shown as text."""
    return "\n".join(_token_texts(_PAGE.parse(chunk_text), html_visible=False))


def _token_texts(tokens: Iterable[Token], html_visible: bool) -> Iterator[str]:
    """The visible text of markdown-it tokens (link URLs and images left out)."""
    for token in tokens:
        if token.type == "inline" and token.children:
            yield " ".join(_inline_texts(token.children))
        elif token.type in ("fence", "code_block"):
            yield token.content
        elif token.type == "html_block" and html_visible:
            yield _html_text(token.content)


def _inline_texts(children: Iterable[Token]) -> Iterator[str]:
    for child in children:
        if child.type in ("text", "code_inline"):
            yield child.content
        elif child.type == "html_inline":
            yield _html_text(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            yield " "


def _html_text(markup: str) -> str:
    return html.unescape(_TAG.sub(" ", _INVISIBLE_HTML.sub(" ", markup)))


def chunk_words(chunks: list[Chunk]) -> list[str]:
    """Our words in reading order: each heading once where its section starts, then the text
    (a heading that is its section's whole text, being all the page says there, counts once)."""
    out: list[str] = []
    seen: set[tuple[str, ...]] = set()
    for chunk in chunks:
        for depth in range(1, len(chunk.heading_path) + 1):
            prefix = chunk.heading_path[:depth]
            if prefix not in seen:
                seen.add(prefix)
                if prefix != chunk.heading_path or chunk.text != prefix[-1]:
                    out.extend(words(prefix[-1]))
        out.extend(words(page_text(chunk.text)))
    return out


@dataclass
class Audit:
    """One article compared: the reader's words, ours, and what differs."""

    source: str
    seen: list[str]
    ours: list[str]
    lost: Counter[str] = field(default_factory=Counter)
    leaked: Counter[str] = field(default_factory=Counter)
    doubled: Counter[str] = field(default_factory=Counter)
    skipped: str = ""

    def __post_init__(self) -> None:
        seen, ours = Counter(self.seen), Counter(self.ours)
        self.lost = seen - ours
        extra = ours - seen
        self.leaked = Counter({w: n for w, n in extra.items() if w not in seen})
        self.doubled = extra - self.leaked


def audit_corpus(content: Path) -> list[Audit]:
    """Every Markdown file of the folder compared (a file ingest skips loses all its words)."""
    settings = Settings(content_dir=content)
    articles, skipped = load_articles(content.resolve(), settings.max_article_bytes)
    count = count_tokens_factory(settings.embed_model)
    root = content.resolve()
    audits = []
    for article in articles:
        raw = (root / article.source).read_text(encoding="utf-8-sig")
        chunks = chunk_article(article, count, settings.chunk_tokens, settings.chunk_overlap)
        audits.append(Audit(article.source, words(reader_text(raw)), chunk_words(chunks)))
    for item in skipped:
        path = root / item["path"]
        raw = path.read_text(encoding="utf-8-sig", errors="replace") if path.is_file() else ""
        audits.append(Audit(item["path"], words(reader_text(raw)), [], skipped=item["error"]))
    return sorted(audits, key=lambda a: a.source)


def lost_passages(audit: Audit, limit: int = 3, width: int = 14) -> list[str]:
    """The longest runs of the reader's words with no counterpart in our chunks."""
    matcher = difflib.SequenceMatcher(None, audit.seen, audit.ours, autojunk=False)
    runs = [(i2 - i1, i1, i2) for tag, i1, i2, _, _ in matcher.get_opcodes()
            if tag in ("delete", "replace")]
    budget = Counter(audit.lost)
    out = []
    for _, i1, i2 in sorted(runs, key=lambda r: (-r[0], r[1])):
        run = audit.seen[i1:i2]
        if sum(1 for w in run if budget[w] > 0) * 2 < len(run):
            continue  # words that moved, not words that went missing
        budget.subtract(run)
        shown = " ".join(run[:width]) + (" …" if len(run) > width else "")
        out.append(f"({len(run)} words) {shown}")
        if len(out) == limit:
            break
    return out


def doubled_runs(audit: Audit) -> list[str]:
    """8-word runs of the page that our chunks hold more often than the page does."""
    def grams(seq: list[str]) -> Counter[tuple[str, ...]]:
        return Counter(tuple(seq[i : i + NGRAM]) for i in range(len(seq) - NGRAM + 1))

    if not audit.doubled:
        return []
    seen = grams(audit.seen)
    extra = Counter({g: n for g, n in (grams(audit.ours) - seen).items() if g in seen})
    return [" ".join(g) for g, _ in sorted(extra.items(), key=lambda kv: (-kv[1], kv[0]))]


def summary(audits: list[Audit]) -> dict[str, object]:
    """Corpus figures: visible words, the share kept, and the leaked and doubled words."""
    seen = sum(len(a.seen) for a in audits)
    lost = sum(sum(a.lost.values()) for a in audits)
    ours = sum(len(a.ours) for a in audits)
    return {
        "articles": len(audits), "skipped": sum(1 for a in audits if a.skipped),
        "visible_words": seen, "lost_words": lost,
        "kept_share": round(1 - lost / seen, 5) if seen else 1.0,
        "chunk_words": ours,
        "leaked_words": sum(sum(a.leaked.values()) for a in audits),
        "doubled_words": sum(sum(a.doubled.values()) for a in audits),
        "articles_with_doubled_runs": sum(1 for a in audits if doubled_runs(a)),
    }


def report(name: str, audits: list[Audit], top: int) -> dict[str, object]:
    """Print one corpus's audit; return its figures."""
    figures = summary(audits)
    print(f"== {name}: {figures['articles']} articles ({figures['skipped']} skipped by ingest)")
    print(f"visible words {figures['visible_words']}, kept {figures['kept_share']:.3%} "
          f"(lost {figures['lost_words']}); chunk words {figures['chunk_words']}, leaked "
          f"{figures['leaked_words']}, doubled {figures['doubled_words']} "
          f"({figures['articles_with_doubled_runs']} articles repeat an {NGRAM}-word run)")
    worst = sorted((a for a in audits if a.lost), key=lambda a: (-sum(a.lost.values()),
                                                                 a.source))[:top]
    print(f"-- largest losses (top {top}): lost words / visible, article")
    for audit in worst:
        lost = sum(audit.lost.values())
        note = f"  [skipped: {audit.skipped}]" if audit.skipped else ""
        print(f"{lost:6d} / {len(audit.seen):<6d} {audit.source}{note}")
        for passage in [] if audit.skipped else lost_passages(audit):
            print(f"         {passage}")
    _print_leaks(audits)
    _print_doubles(audits, top)
    figures["worst"] = [{"source": a.source, "lost": sum(a.lost.values()),
                         "visible": len(a.seen)} for a in worst]
    return figures


def _print_leaks(audits: list[Audit], top: int = 25) -> None:
    leaked: Counter[str] = Counter()
    where: dict[str, list[str]] = {}
    for audit in audits:
        leaked.update(audit.leaked)
        for word in audit.leaked:
            where.setdefault(word, []).append(audit.source)
    print(f"-- leaked: words in chunks the page never shows (top {top}): word x count (articles)")
    for word, n in sorted(leaked.items(), key=lambda kv: (-kv[1], kv[0]))[:top]:
        sources = where[word]
        more = f" +{len(sources) - 2}" if len(sources) > 2 else ""
        print(f"  {word} x{n} ({', '.join(sources[:2])}{more})")


def _print_doubles(audits: list[Audit], top: int) -> None:
    doubled = [(a, runs) for a in audits if (runs := doubled_runs(a))]
    doubled.sort(key=lambda ar: (-len(ar[1]), ar[0].source))
    print(f"-- doubled: {NGRAM}-word runs the chunks hold more often than the page")
    for audit, runs in doubled[:top]:
        print(f"  {len(runs):4d} runs  {audit.source}: {runs[0]}")


def main(argv: list[str] | None = None) -> None:
    """Audit one corpus or all of them; print the report (and one JSON object with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", choices=[*CORPORA, "all"], default="all")
    parser.add_argument("--top", type=int, default=15, help="articles listed per section")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args(argv)
    names = list(CORPORA) if args.corpus == "all" else [args.corpus]
    figures = {name: report(name, audit_corpus(CORPORA[name]), args.top) for name in names}
    if args.json:
        print(json.dumps({"benchmark": "ingest_fidelity", "corpora": figures}))


if __name__ == "__main__":
    main()
