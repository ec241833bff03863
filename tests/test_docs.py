"""The README documents every setting (and no setting that does not exist)."""

from __future__ import annotations

import re
from pathlib import Path

from rag.settings import Settings

README = Path(__file__).parent.parent / "README.md"


def test_every_setting_has_a_readme_row_and_every_row_a_setting() -> None:
    rows = re.findall(r"^\| `PLAYBOOK_([A-Z0-9_]+)` \|", README.read_text(encoding="utf-8"), re.M)
    documented = {name.lower() for name in rows}
    fields = set(Settings.model_fields)
    assert sorted(fields - documented) == [], "settings missing from the README tables"
    assert sorted(documented - fields) == [], "README rows for settings that do not exist"
