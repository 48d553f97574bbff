"""Read YAML or JSON rule files and remember the line of every key, so errors can be located."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mapping.exceptions import Problem, RuleFileError
from mapping.paths import Loc, format_loc

__all__ = ["MAX_NESTING", "MAX_VALUES", "RuleDocument", "parse_document", "read_document", "read_text"]

# Validation and mapping walk rule values recursively, so deeper files are refused up front. The
# limit leaves room for an inline test event nested as deep as ingress accepts (64 levels).
MAX_NESTING = 100
# Keys and list items after expanding aliases: far above any real rule file, low enough that an
# alias bomb (anchors that each repeat the previous one ten times) fails fast instead of hanging.
MAX_VALUES = 200_000

_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')  # strings are skipped: brackets inside do not count


class _Refused(yaml.MarkedYAMLError):
    """Well-formed YAML that a rule file cannot be: too deep, or an alias inside its own anchor."""

    def __init__(self, problem: str, mark: yaml.Mark) -> None:
        super().__init__(problem=problem, problem_mark=mark)


class _RuleLoader(yaml.SafeLoader):
    """SafeLoader that keeps dates as strings (rule values must stay plain JSON) and refuses
    nesting past MAX_NESTING and recursive aliases, which no JSON value can represent."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._open_anchors: list[str | None] = []  # one per collection being composed, outermost first

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) and event.anchor in self._open_anchors:
            raise _Refused(f"recursive alias *{event.anchor}: the value would contain itself", event.start_mark)
        if not isinstance(event, yaml.CollectionStartEvent):
            return super().compose_node(parent, index)
        if len(self._open_anchors) >= MAX_NESTING:
            raise _Refused(f"nested more than {MAX_NESTING} levels deep", event.start_mark)
        self._open_anchors.append(event.anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._open_anchors.pop()

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except Exception:  # explicit tags such as `!!int abc` or `!!bool maybe` raise bare Python errors
            raise yaml.constructor.ConstructorError(
                problem=f"the value is not a valid {node.tag}", problem_mark=node.start_mark
            ) from None


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
        raise RuleFileError([_yaml_problem(exc, text, name)]) from None
    return RuleDocument(name, data, lines, duplicates)


def _yaml_problem(exc: yaml.YAMLError, text: str, name: str) -> Problem:
    if isinstance(exc, yaml.reader.ReaderError):  # a control character; its str() spans two lines
        line = text.count("\n", 0, exc.position) + 1
        return Problem(name, line, "", f"invalid YAML: unacceptable character #x{exc.character:04x}: {exc.reason}")
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark else 1
    reason = getattr(exc, "problem", None) or " ".join(str(exc).split())
    return Problem(name, line, "", reason if isinstance(exc, _Refused) else f"invalid YAML: {reason}")


def _parse_json(text: str, name: str) -> Any:
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in items:
            if key in seen:
                duplicates.append(key)
            seen[key] = value
        return seen

    _check_json_nesting(text, name)  # json.loads recurses once per level
    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise RuleFileError([Problem(name, exc.lineno, "", f"invalid JSON: {exc.msg} (column {exc.colno})")]) from None
    if duplicates:
        problems = [Problem(name, 1, "", f"duplicate key {key!r}") for key in duplicates]
        raise RuleFileError(problems)
    return data


def _check_json_nesting(text: str, name: str) -> None:
    depth = 0
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > MAX_NESTING:
                line = text.count("\n", 0, match.start()) + 1
                raise RuleFileError([Problem(name, line, "", f"nested more than {MAX_NESTING} levels deep")])
        elif token in ("]", "}"):
            depth -= 1


def _lines_and_duplicates(text: str, name: str) -> tuple[dict[Loc, int], list[Problem]]:
    root = yaml.compose(text, Loader=_RuleLoader)
    lines: dict[Loc, int] = {}
    problems: list[Problem] = []
    if root is None:
        return lines, problems
    stack: list[tuple[yaml.Node, Loc]] = [(root, ())]
    walked = 0  # aliases are walked once per use, like the data they expand to
    while stack:
        node, loc = stack.pop()
        walked += len(node.value) if isinstance(node, yaml.CollectionNode) else 0
        if walked > MAX_VALUES:
            line = node.start_mark.line + 1
            raise RuleFileError(
                [Problem(name, line, "", f"expands to more than {MAX_VALUES:,} values (nested aliases?)")]
            )
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
