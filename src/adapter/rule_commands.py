"""`braze-adapter validate | test | map | schema`: author and check rule files offline."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from mapping.events import InboundEvent, now_iso
from mapping.exceptions import RuleFileError
from mapping.loader import read_document
from mapping.ruleset import load_ruleset
from mapping.validation import validate_document

__all__ = ["cmd_map", "cmd_schema", "cmd_test", "cmd_validate"]


def cmd_validate(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Exit 0 when every file is valid; else 1 and one `FILE:LINE: path: message` line per problem."""
    out = out or sys.stdout
    failed = False
    for name in args.files:
        try:
            document = read_document(name)
        except RuleFileError as exc:
            _print_problems(exc.problems, out)
            failed = True
            continue
        model, problems = validate_document(document)
        _print_problems(problems, out)
        if model is None:
            failed = True
        else:
            print(f"{name}: ok ({len(model.rules)} rules, {len(model.tests)} tests)", file=out)
    return 1 if failed else 0


def cmd_test(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run each file's tests, print a diff per failure, end with `N passed, M failed`."""
    out = out or sys.stdout
    from mapping.testing import run_rule_tests

    passed = failed = 0
    for name in args.files:
        try:
            ruleset = load_ruleset(name)
        except RuleFileError as exc:
            _print_problems(exc.problems, out)
            failed += 1
            continue
        for outcome in run_rule_tests(ruleset):
            if outcome.passed:
                passed += 1
                if args.verbose:
                    print(f"PASS {name}: {outcome.name}", file=out)
                continue
            failed += 1
            print(f"FAIL {name}: {outcome.name}", file=out)
            for detail in outcome.details:
                print(_indent(detail), file=out)
    print(f"{passed} passed, {failed} failed", file=out)
    return 1 if failed else 0


def cmd_map(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Print `{"requests": [...], "skipped": [...], "errors": [...]}` for the events, batched together.

    Exit 0 when every event mapped, 1 when `errors` is not empty, 2 when the rule file is invalid.
    """
    out = out or sys.stdout
    from mapping.engine import MappingFailure, map_events

    try:
        ruleset = load_ruleset(args.rules)
    except RuleFileError as exc:
        _print_problems(exc.problems, sys.stderr)
        return 2
    try:
        headers = _parse_headers(args.header or [])
    except ValueError as exc:
        print(f"braze-adapter map: {exc}", file=sys.stderr)
        return 2
    received_at = args.received_at or now_iso()
    events, unreadable = [], []
    for index, name in enumerate(args.events):
        try:
            events.append(_read_event(name, headers, received_at))
        except (OSError, ValueError) as exc:
            unreadable.append(MappingFailure(index, name, None, None, None, f"cannot read event: {exc}"))
    result = map_events(ruleset, events)
    result.errors[:0] = unreadable
    json.dump(result.to_json(), out, indent=2, ensure_ascii=False)
    out.write("\n")
    return 1 if result.errors else 0


def cmd_schema(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Print the JSON Schema of rule files."""
    out = out or sys.stdout
    from mapping.models import rule_file_schema

    json.dump(rule_file_schema(), out, indent=2)
    out.write("\n")
    return 0


def _read_event(name: str, headers: dict[str, str], received_at: str) -> InboundEvent:
    from sources.body import parse_body
    from sources.exceptions import BodyError

    raw = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    try:
        body = parse_body(raw, headers.get("content-type"))
    except BodyError as exc:
        raise ValueError(str(exc)) from None
    return InboundEvent(body=body, raw=raw, headers=headers, received_at=received_at, label=name)


def _parse_headers(values: list[str]) -> dict[str, str]:
    headers = {}
    for value in values:
        name, sep, content = value.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"--header must look like 'Name: value', got {value!r}")
        headers[name.strip().lower()] = content.strip()
    return headers


def _print_problems(problems: list[Any], out: TextIO) -> None:
    for problem in problems:
        print(problem, file=out)


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.rstrip("\n").splitlines())
