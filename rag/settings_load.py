"""Settings from the environment and flags, with one sentence for a bad value.

A bad value names the setting, its environment variable (and flag) and the values it accepts,
never pydantic's multi-line dump.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import ValidationError

from rag.errors import SettingsError
from rag.settings import Settings

# Settings that also have a command-line flag, named in error messages.
FLAGS = {"top_k": "-k", "llm": "--llm", "content_dir": "--content", "index_dir": "--index"}


def load_settings(**values: Any) -> Settings:
    """Settings from the environment plus `values`; a bad value raises SettingsError naming the
    setting, its environment variable and the values it accepts (never pydantic's dump)."""
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise SettingsError(settings_error_message(exc)) from exc


def settings_error_message(exc: ValidationError) -> str:
    """One sentence for the first invalid setting of a pydantic ValidationError."""
    error = exc.errors()[0]
    name = str(error["loc"][0]) if error.get("loc") else "?"
    if name not in Settings.model_fields:
        return f"Invalid setting: {error.get('msg', exc)}."
    where = f"PLAYBOOK_{name.upper()}"
    if name in FLAGS:
        where = f"{FLAGS[name]} or {where}"
    shown = repr(error.get("input"))[:80]
    return f"Invalid setting {name} ({where}): {shown} is not allowed; use {allowed_values(name)}."


def allowed_values(name: str) -> str:
    """What a setting accepts, in words: 'one of a, b', 'a whole number from 1 to 50'..."""
    field = Settings.model_fields[name]
    kinds = [a for a in (get_args(field.annotation) or (field.annotation,)) if a is not type(None)]
    optional = len(kinds) < len(get_args(field.annotation) or (field.annotation,))
    kind = kinds[0] if kinds else str
    if get_origin(field.annotation) is Literal:
        kind = field.annotation
    if get_origin(kind) is Literal:
        text = "one of " + ", ".join(str(v) for v in get_args(kind))
    else:
        words = {int: "a whole number", float: "a number", bool: "true or false", Path: "a path"}
        text = words.get(kind, "text")  # type: ignore[call-overload]
        text += _bounds(field.metadata)
    return text + (" (or unset)" if optional and field.default is None else "")


def _bounds(metadata: list[Any]) -> str:
    """' from 1 to 50', ' above 0 and at most 60', ' matching ^...$' from a field's constraints."""
    found: dict[str, Any] = {}
    for item in metadata:
        for key in ("ge", "gt", "le", "lt", "pattern"):
            if getattr(item, key, None) is not None:
                found[key] = getattr(item, key)
    if "pattern" in found:
        return f" matching {found['pattern']}"
    if "ge" in found and "le" in found:
        return f" from {found['ge']} to {found['le']}"
    words = {"ge": "at least", "gt": "above", "le": "at most", "lt": "below"}
    parts = [f"{words[k]} {found[k]}" for k in ("ge", "gt", "le", "lt") if k in found]
    return " " + " and ".join(parts) if parts else ""
