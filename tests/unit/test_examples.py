"""Every example rule file is valid, warning-free, and passes its own tests (the CI gate)."""

from pathlib import Path

import pytest

from mapping.ruleset import load_ruleset
from mapping.testing import run_rule_tests

EXAMPLES = sorted((Path(__file__).parents[2] / "examples" / "rules").glob("*.y*ml"))


def test_there_are_examples():
    assert len(EXAMPLES) >= 1


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_rules_pass_their_tests(path):
    ruleset = load_ruleset(path)
    assert [str(w) for w in ruleset.warnings] == []
    outcomes = run_rule_tests(ruleset)
    assert outcomes, f"{path.name} has no tests"
    failures = {o.name: o.details for o in outcomes if not o.passed}
    assert failures == {}
