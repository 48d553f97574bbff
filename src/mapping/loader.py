"""Read YAML or JSON rule files and remember the line of every key, so errors can be located."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mapping.exceptions import Problem, RuleFileError
from mapping.paths import Loc, format_loc

__all__ = ["RuleDocument", "parse_document", "read_document", "read_text"]


class _RuleLoader(yaml.SafeLoader):
    """SafeLoader that keeps dates as strings: rule values must stay plain JSON."""


_RuleLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass
class RuleDocument:
    """A parsed rule file: its data plus the 1-based line of each key and list item."""

    name: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def line_of(self, loc: Loc) -> int:
        """The line of `loc`, or of its nearest located parent."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return 1


def read_text(path: str | Path) -> str:
    """The UTF-8 text of a rule file; unreadable files raise a located RuleFileError."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleFileError([Problem(str(path), 1, "", f"cannot read file: {exc}")]) from None


def read_document(path: str | Path) -> RuleDocument:
    """Read and parse a rule file (see `parse_document`)."""
    return parse_document(read_text(path), str(path))


def parse_document(text: str, name: str) -> RuleDocument:
    """Parse `text` as JSON (for `.json` names) or YAML; duplicate keys are reported as problems."""
    if name.endswith(".json"):
        data = _parse_json(text, name)
        document = RuleDocument(name, data)
        try:  # JSON is YAML flow syntax, which gives us the lines for free
            document.lines = _lines_and_duplicates(text, name)[0]
        except yaml.YAMLError:
            pass
        return document
    try:
        lines, duplicates = _lines_and_duplicates(text, name)
        data = yaml.load(text, Loader=_RuleLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        reason = getattr(exc, "problem", None) or str(exc)
        raise RuleFileError([Problem(name, line, "", f"invalid YAML: {reason}")]) from None
    return RuleDocument(name, data, lines, duplicates)


def _parse_json(text: str, name: str) -> Any:
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in items:
            if key in seen:
                duplicates.append(key)
            seen[key] = value
        return seen

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise RuleFileError([Problem(name, exc.lineno, "", f"invalid JSON: {exc.msg} (column {exc.colno})")]) from None
    if duplicates:
        problems = [Problem(name, 1, "", f"duplicate key {key!r}") for key in duplicates]
        raise RuleFileError(problems)
    return data


def _lines_and_duplicates(text: str, name: str) -> tuple[dict[Loc, int], list[Problem]]:
    root = yaml.compose(text, Loader=_RuleLoader)
    lines: dict[Loc, int] = {}
    problems: list[Problem] = []
    if root is None:
        return lines, problems
    stack: list[tuple[yaml.Node, Loc]] = [(root, ())]
    while stack:
        node, loc = stack.pop()
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value)
                child = (*loc, key)
                if key in seen:
                    path = format_loc(child)
                    problems.append(Problem(name, key_node.start_mark.line + 1, path, f"duplicate key {key!r}"))
                seen.add(key)
                lines.setdefault(child, key_node.start_mark.line + 1)
                stack.append((value_node, child))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = (*loc, index)
                lines[child] = item.start_mark.line + 1
                stack.append((item, child))
    return lines, problems
