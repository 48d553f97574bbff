"""Field paths as users read them: `rules[2].campaign.recipient.external_user_id`."""

from __future__ import annotations

__all__ = ["Loc", "field_path", "format_loc"]

Loc = tuple[str | int, ...]


def field_path(parent: str, key: str | int) -> str:
    """`rules[2]` + `campaign` -> `rules[2].campaign`; + 3 -> `...[3]`."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if not key.isprintable():  # a line break or control character would split the printed problem
        key = repr(key)
    return f"{parent}.{key}" if parent else key


def format_loc(loc: Loc) -> str:
    """`("rules", 2, "campaign")` -> `rules[2].campaign`."""
    path = ""
    for part in loc:
        path = field_path(path, part)
    return path
