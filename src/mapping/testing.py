"""Run the `tests:` of a rule file: map each test event and compare with the expected requests."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mapping.engine import MappingResult, map_events
from mapping.events import InboundEvent
from mapping.models import RuleTest
from mapping.ruleset import RuleSet

__all__ = ["DEFAULT_TEST_RECEIVED_AT", "TestOutcome", "run_rule_tests", "test_event"]

# Tests must map the same way on every run, so `$receivedAt` has a fixed default.
DEFAULT_TEST_RECEIVED_AT = "2026-01-01T00:00:00.000Z"


@dataclass
class TestOutcome:
    file: str
    name: str
    passed: bool
    details: list[str] = field(default_factory=list)

    __test__ = False  # not a pytest class


def test_event(test: RuleTest, base: Path) -> InboundEvent:
    """The inbound event a rule test describes (`event:` inline or `event_file:` relative to the rule file)."""
    from sources.body import parse_body

    headers = {k.lower(): v for k, v in test.headers.items()}
    if test.event_file is not None:
        raw = (base / test.event_file).read_bytes()
        body = parse_body(raw, headers.get("content-type"))
        label = test.event_file
    else:
        raw = json.dumps(test.event).encode()
        body = test.event
        label = f"test {test.name!r}"
    return InboundEvent(
        body=body,
        raw=raw,
        headers=headers,
        query=test.query,
        received_at=test.received_at or DEFAULT_TEST_RECEIVED_AT,
        event_id=test.event_id,
        label=label,
    )


def run_rule_tests(ruleset: RuleSet) -> list[TestOutcome]:
    """Run every test in `ruleset`'s file; each test maps its one event on its own."""
    base = Path(ruleset.name).parent
    outcomes = []
    for test in ruleset.model.tests:
        try:
            event = test_event(test, base)
        except Exception as exc:  # unreadable or unparsable event file: a failed test, not a crash
            outcomes.append(TestOutcome(ruleset.name, test.name, False, [f"cannot load event: {exc}"]))
            continue
        result = map_events(ruleset, [event])
        outcomes.append(_compare(ruleset.name, test, result))
    return outcomes


def _compare(file: str, test: RuleTest, result: MappingResult) -> TestOutcome:
    details: list[str] = []
    actual = [{"path": r.path, "body": r.body} for r in result.requests()]
    expected = [item.model_dump() for item in test.expect]
    if actual != expected:
        details.append(_diff(expected, actual))
    unmatched = list(result.errors)
    for wanted in test.expect_errors:
        match = next((e for e in unmatched if (wanted.rule in (None, e.rule_id)) and wanted.message in e.message), None)
        if match is None:
            details.append(
                f"expected an error (rule {wanted.rule}, message containing {wanted.message!r}); none matched"
            )
        else:
            unmatched.remove(match)
    for error in unmatched:
        details.append(f"unexpected error: rule {error.rule_id} {error.path}: {error.message}")
    return TestOutcome(file, test.name, not details, details)


def _diff(expected: Any, actual: Any) -> str:
    def lines(value: Any) -> list[str]:
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).splitlines(keepends=True)

    return "".join(difflib.unified_diff(lines(expected), lines(actual), "expected", "actual"))
