"""Reading Markdown files into Articles: front matter, id, title, encoding checks.

Pure functions over bytes and paths; nothing here touches the index.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError

from ingest.blocks import atx_heading_text, parse_blocks
from ingest.htmltags import strip_html
from ingest.markup import code_spans, strip_non_content
from rag.errors import ContentError

_WORD = re.compile(r"\w")
# Bumped when parsing changes what an unchanged file yields (2: template tags stripped; 3:
# reference links made inline; 4: blockquote markers out of sentence units, whose texts key the
# sentence-vector table; 5: a closing quote or bracket stays with its sentence; 6: HTML tags,
# shortcodes, leaf headings; 7: HTML tags out of front-matter titles; 8: underscores inside a
# heading's words and its code spans kept), so that the next ingest re-chunks every article
# instead of keeping chunks made by older rules.
PARSER_VERSION = b"playbook-parser-8\n"
DEFAULT_MAX_ARTICLE_BYTES = 5_000_000
MAX_HEADING_CHARS = 300  # titles and headings; longer ones are cut with "…"
MAX_ID_CHARS = 1024
MAX_FRONT_MATTER_BYTES = 64_000  # real front matter is a few hundred bytes

_FRONT_MATTER_OPEN = re.compile(r"\A---[ \t]*\r?\n")
_FRONT_MATTER_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)
_LINK = re.compile(r"!?\[([^\[\]]*)\]\([^()]*\)")  # no nesting: one scan per bracket, linear


class _NoAliasLoader(yaml.SafeLoader):
    """PyYAML's safe loader minus aliases: `*a` would let 351 bytes expand to gigabytes."""

    def compose_node(self, parent: Any, index: Any) -> Any:  # PyYAML's hook for every node
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise ComposerError(
                None, None, f"aliases such as *{event.anchor} are not allowed", event.start_mark
            )
        return super().compose_node(parent, index)


@dataclass(frozen=True)
class Article:
    """One playbook article, parsed."""

    id: str
    title: str
    source: str  # path relative to the content dir, posix style
    body: str  # Markdown after the front matter
    body_line: int  # 1-based line number in the file where `body` starts
    content_hash: str  # sha256 of PARSER_VERSION + the raw file bytes
    metadata: dict[str, Any] = field(default_factory=dict)


def read_article(
    path: Path, content_dir: Path, max_bytes: int = DEFAULT_MAX_ARTICLE_BYTES
) -> Article:
    """Read and parse one file. Raises ContentError with a one-sentence reason."""
    source = path.relative_to(content_dir).as_posix()
    try:
        with path.open("rb") as handle:  # one byte past the cap, never all of a huge file
            raw = handle.read(max_bytes + 1)
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop on older Pythons
        reason = getattr(exc, "strerror", None) or "symlink loop"
        raise ContentError(source, f"cannot be read ({reason})") from exc
    if len(raw) > max_bytes:
        raise ContentError(source, too_large(max_bytes))
    return parse_article(raw, source)


def too_large(max_bytes: int) -> str:
    """The reason given for a file over the article-size cap."""
    return (
        f"is larger than max_article_bytes ({max_bytes:,} bytes); split it into several "
        "articles or raise PLAYBOOK_MAX_ARTICLE_BYTES"
    )


def parse_article(raw: bytes, source: str) -> Article:
    """Parse the bytes of a Markdown file whose path relative to the content dir is `source`."""
    text = decode_markdown(raw, source)
    meta, body, body_line = split_front_matter(text, source)
    if not body.strip():
        raise ContentError(source, "has no text after its front matter" if meta else "is empty")
    body = strip_non_content(body)  # template tags, comments, HTML tags, link definitions
    if not body.strip():
        raise ContentError(source, "has only template tags, HTML, comments or link definitions")
    if not any(b.kind != "heading" and _WORD.search(b.text) for b in parse_blocks(body)):
        raise ContentError(source, "has only headings or markup, no text to index")
    article_id = _string_field(meta, "id", source) or _default_id(source)
    if len(article_id) > MAX_ID_CHARS:
        raise ContentError(source, f"has an id longer than {MAX_ID_CHARS} characters")
    # a front-matter title is shown as the page shows it: "Travel <em>before</em> onboarding"
    # (body headings lost their tags with the rest of the prose)
    given = _string_field(meta, "title", source)
    title = shorten(
        (strip_html(given).strip() if given else "") or first_heading(body) or _stem_title(source)
    )
    extra = {k: v for k, v in meta.items() if k not in ("id", "title")}
    return Article(
        id=article_id,
        title=title,
        source=source,
        body=body,
        body_line=body_line,
        content_hash=hashlib.sha256(PARSER_VERSION + raw).hexdigest(),
        metadata=extra,
    )


def decode_markdown(raw: bytes, source: str) -> str:
    """Decode UTF-8 (BOM allowed); reject binary and non-UTF-8 content with the line at fault."""
    if not raw.strip():
        raise ContentError(source, "is empty")
    if b"\x00" in raw[:8192]:
        raise ContentError(source, "looks like a binary file (it contains NUL bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ContentError(
            source, f"is not valid UTF-8 (byte 0x{raw[exc.start]:02x} on line {line})"
        ) from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_front_matter(text: str, source: str) -> tuple[dict[str, Any], str, int]:
    """Split YAML front matter from the body. Returns (metadata, body, body's first line)."""
    opened = _FRONT_MATTER_OPEN.match(text)
    if not opened:
        return {}, text, 1
    close = _FRONT_MATTER_CLOSE.search(text, opened.end())
    if not close:
        raise ContentError(source, "front matter opened with '---' on line 1 is never closed")
    block = text[opened.end() : close.start()]
    if len(block) > MAX_FRONT_MATTER_BYTES:
        raise ContentError(source, f"has front matter over {MAX_FRONT_MATTER_BYTES:,} characters")
    try:
        meta = yaml.load(block, Loader=_NoAliasLoader) if block.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" on line {mark.line + 2}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ContentError(source, f"has invalid YAML front matter{where} ({problem})") from exc
    except (ValueError, RecursionError, OverflowError) as exc:  # e.g. "date: 2024-02-30", [[[[...
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ContentError(source, f"has invalid YAML front matter ({reason[:80]})") from exc
    if not isinstance(meta, dict):
        raise ContentError(source, "front matter must be a mapping of keys to values")
    rest = text[close.end() :]
    if rest.startswith("\n"):
        rest = rest[1:]
    body_line = text[: len(text) - len(rest)].count("\n") + 1
    return {str(k): v for k, v in meta.items()}, rest, body_line


def _string_field(meta: dict[str, Any], key: str, source: str) -> str | None:
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, (dict, list)) or isinstance(value, bool):
        raise ContentError(source, f"front matter '{key}' must be text, not {type(value).__name__}")
    value = str(value).strip()
    return value or None


def _default_id(source: str) -> str:
    return source[:-3] if source.lower().endswith(".md") else source


def _stem_title(source: str) -> str:
    stem = Path(source).stem
    return stem.replace("-", " ").replace("_", " ").strip().capitalize() or stem


def first_heading(body: str) -> str | None:
    """The text of the first ATX heading in the body, if any (outside code fences)."""
    for line in iter_lines_outside_fences(body):
        text = atx_heading_text(line)
        if text and clean_heading(text):  # a heading that was only a template tag is skipped
            return clean_heading(text)
    return None


def clean_heading(text: str) -> str:
    """Strip inline Markdown (links, emphasis, code ticks) from heading text; whitespace runs
    become one space and the result is cut at MAX_HEADING_CHARS (every chunk of a section
    carries its heading path, so a 64 KB heading must not be copied into each of them)."""
    text = _LINK.sub(r"\1", text)
    out, pos = [], 0
    for start, end in code_spans(text):  # a code span's content is kept as written
        out += [_EMPHASIS.sub("", text[pos:start]), text[start:end].strip("`")]
        pos = end
    return shorten("".join([*out, _EMPHASIS.sub("", text[pos:])]))


# Emphasis marks: asterisks, stray backticks, and underscores except inside a word ("read_csv",
# "NODE_MODULE_VERSION" stay: CommonMark never reads an intraword underscore as emphasis).
_EMPHASIS = re.compile(r"[*`]+|(?<![^\W_])_+|_+(?![^\W_])")


def shorten(text: str) -> str:
    """Whitespace runs as one space, cut at MAX_HEADING_CHARS with "…"."""
    text = " ".join(text.split())
    return text if len(text) <= MAX_HEADING_CHARS else text[: MAX_HEADING_CHARS - 1] + "…"


def iter_lines_outside_fences(body: str) -> Iterator[str]:
    """Yield lines that are not inside fenced code blocks."""
    fence: str | None = None
    for line in body.split("\n"):
        stripped = line.lstrip()
        if fence is None and (stripped.startswith("```") or stripped.startswith("~~~")):
            fence = stripped[:3]
            continue
        if fence is not None:
            if stripped.startswith(fence):
                fence = None
            continue
        yield line
