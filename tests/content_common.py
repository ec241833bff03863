"""What the chunker must keep of a Markdown body: shared by the no-text-lost properties."""

from __future__ import annotations

from ingest.articles import clean_heading
from ingest.blocks import parse_blocks


def indexed_texts(body: str) -> list[str]:
    """In order: every block that is not a heading, and every heading with text that heads
    nothing (no text and no subheading before the next heading of its level or above), which
    is its section's text. Headings with no text are skipped, except at level 1 (the title)."""
    counted = [b for b in parse_blocks(body)
               if b.kind != "heading" or b.level == 1 or clean_heading(b.text)]
    out = []
    for i, block in enumerate(counted):
        if block.kind != "heading":
            out.append(block.text)
            continue
        after = counted[i + 1] if i + 1 < len(counted) else None
        if clean_heading(block.text) and (
            after is None or (after.kind == "heading" and after.level <= block.level)
        ):
            out.append(clean_heading(block.text))
    return out
