"""Validate a rule file and locate every problem: `FILE:LINE: rules[2].campaign.recipient: message`.

Validation reports all problems in a file, not just the first: the pydantic model checks shape and
the per-object rules, then semantic checks run over the raw document (so they still run when the
shape is wrong elsewhere): file name, duplicate rule ids, presets and their options, every
expression compiles and calls only functions that exist, non-deterministic functions, and test
event files exist.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from mapping import models
from mapping.exceptions import ExpressionError, Problem
from mapping.expressions import compile_expression
from mapping.loader import RuleDocument
from mapping.models import RuleFile
from mapping.paths import Loc, format_loc
from mapping.source_config import check_verify
from mapping.syntax import expression_source, looks_like_partial_expression, nondeterministic_functions

__all__ = ["validate_document"]

# Sections that hold event data or prose, never expressions.
_NOT_TEMPLATES = {"tests", "description"}
# Step Functions' JSONata has this one; rules that want a unique value per send have better options.
_FUNCTION_HINTS = {"$uuid": " (for a unique value use $eventId, with $index inside for_each)"}


def validate_document(document: RuleDocument, *, check_files: bool = True) -> tuple[RuleFile | None, list[Problem]]:
    """Validate a parsed rule file (`check_files=False` skips test event files: S3 has none).

    Returns
    -------
    (model, problems)
        `model` is None when any problem is an error; warnings never block.
    """
    problems = list(document.problems)
    data = document.data
    if not isinstance(data, dict):
        problems.append(Problem(document.name, 1, "", "a rule file must be a mapping with version, source, rules"))
        return None, problems

    model = None
    try:
        model = RuleFile.model_validate(data)
    except ValidationError as exc:
        problems.extend(_pydantic_problems(document, exc))
    problems.extend(_semantic_problems(document, check_files))
    problems.sort(key=lambda p: (p.line, p.severity != "error", p.path))
    if any(p.severity == "error" for p in problems):
        return None, problems
    return model, problems


def _pydantic_problems(document: RuleDocument, exc: ValidationError) -> list[Problem]:
    problems = []
    for error in exc.errors():
        loc = _clean_loc(document.data, error["loc"])
        message = _message(error, loc)
        problems.append(Problem(document.name, document.line_of(loc), format_loc(loc), message))
    return problems


def _clean_loc(data: Any, raw: tuple[Any, ...]) -> Loc:
    """Drop pydantic's union/validator tags so the path names only real keys and indexes."""
    loc: list[str | int] = []
    node = data
    for part in raw:
        if isinstance(node, dict) and part in node:
            loc.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            loc.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and not _is_tag(part):
            loc.append(part)  # a missing or unknown key: still part of the path
            node = None
    return tuple(loc)


def _is_tag(part: str) -> bool:
    return part in ("object", "expression") or "[" in part or part.startswith("function-")


def _message(error: dict[str, Any], loc: Loc) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        if "canvas" in loc and key == "trigger_properties":
            return f"unknown key {key!r} (canvases take context)"
        if "campaign" in loc and key in ("context", "canvas_entry_properties"):
            return f"unknown key {key!r} (campaigns take trigger_properties)"
        hint = difflib.get_close_matches(key, _known_keys() - {key}, n=1)
        return f"unknown key {key!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
    if kind == "missing":
        return "required key is missing"
    if kind == "string_pattern_mismatch":
        return f"{error['input']!r} does not match {error['ctx']['pattern']}"
    return str(error["msg"]).removeprefix("Value error, ")


def _known_keys() -> set[str]:
    keys: set[str] = set()
    for value in vars(models).values():
        if isinstance(value, type) and issubclass(value, BaseModel):
            keys.update(value.model_fields)
    return keys


def _semantic_problems(document: RuleDocument, check_files: bool) -> list[Problem]:
    data, name = document.data, document.name
    problems: list[Problem] = []

    def add(loc: Loc, message: str, severity: str = "error") -> None:
        problems.append(Problem(name, document.line_of(loc), format_loc(loc), message, severity))

    source = data.get("source")
    stem = Path(name).stem
    if isinstance(source, str) and Path(name).suffix in (".yaml", ".yml", ".json") and source != stem:
        add(("source",), f"source {source!r} must equal the file name ({stem!r})")

    rules = data.get("rules")
    seen: dict[str, int] = {}
    for index, rule in enumerate(rules if isinstance(rules, list) else []):  # the model reports other types
        rule_id = rule.get("id") if isinstance(rule, dict) else None
        if isinstance(rule_id, str):
            if rule_id in seen:
                add(("rules", index, "id"), f"duplicate rule id {rule_id!r} (first used by rules[{seen[rule_id]}])")
            seen.setdefault(rule_id, index)

    check_verify(data.get("verify"), add)
    for key, value in data.items():
        if key not in _NOT_TEMPLATES:
            _check_expressions(value, (key,), add)
    if check_files:
        _check_tests(data.get("tests"), Path(name).parent, add)
    return problems


def _check_expressions(value: Any, loc: Loc, add: Any, rule: str | None = None) -> None:
    if isinstance(value, dict):
        is_rule = len(loc) == 2 and loc[0] == "rules"
        if is_rule and isinstance(value.get("id"), str):
            rule = value["id"]
        for key, item in value.items():
            if not (is_rule and key == "description"):
                _check_expressions(item, (*loc, key), add, rule)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_expressions(item, (*loc, index), add, rule)
    elif (source := expression_source(value)) is not None:
        try:
            expression = compile_expression(source)
        except ExpressionError as exc:
            add(loc, f"expression does not compile: {exc.message}")
            return
        for function in expression.unknown_functions():
            subject = f"rule {rule}" if rule else "this expression"
            add(
                loc,
                f"{function}() does not exist in this JSONata engine: {subject} fails on every evaluation "
                f"that reaches it{_FUNCTION_HINTS.get(function, '')}",
            )
        for function in nondeterministic_functions(source):
            add(loc, f"{function}() is non-deterministic: replays would map this event differently", "warning")
    elif looks_like_partial_expression(value):
        add(loc, "contains '{%' but is not wholly a {% expression %}; it is used as literal text", "warning")


def _check_tests(tests: Any, base: Path, add: Any) -> None:
    for index, test in enumerate(tests if isinstance(tests, list) else []):
        event_file = test.get("event_file") if isinstance(test, dict) else None
        if not isinstance(event_file, str):
            continue
        path = base / event_file
        try:
            found = path.is_file()
        except OSError as exc:  # e.g. a name too long for the file system: is_file() only absorbs "not found"
            add(("tests", index, "event_file"), f"event file unreadable: {exc.strerror or exc}")
            continue
        if not found:
            add(("tests", index, "event_file"), f"event file not found: {path}")
