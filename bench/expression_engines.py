"""Compare jsonata-python (the engine we ship) with jsonatapy on our own rules and events.

For every `{% %}` expression in examples/rules/*.yaml, evaluated against each test event of its
file (with the same variables the engine binds), it reports where the two engines disagree and
the median evaluation time of each. jsonatapy is not a project dependency:

    .venv/bin/pip install jsonatapy==2.2.13 && .venv/bin/python bench/expression_engines.py
"""

from __future__ import annotations

import functools
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from mapping.events import derive_event_id, derive_event_type, variables_for  # noqa: E402
from mapping.expressions import Expression, expression_source  # noqa: E402
from mapping.loader import read_document  # noqa: E402
from mapping.ruleset import load_ruleset  # noqa: E402
from mapping.testing import test_event  # noqa: E402

# Values that stress number handling: ids above 2**53 are common (Shopify order ids).
EXTRA_CASES = [
    ({"id": 820982911946154508}, "id"),
    ({"id": 820982911946154508}, "$string(id)"),
    ({"items": [{"q": 1, "s": "a"}, {"q": 1, "s": "b"}]}, "$sort(items, function($l, $r){ $l.q > $r.q }).s"),
    ({"amount": 2000}, "amount / 100"),
    ({"amount": 999}, "amount / 100"),
]


def expressions(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from expressions(item)
    elif isinstance(value, list):
        for item in value:
            yield from expressions(item)
    elif (source := expression_source(value)) is not None:
        yield source


def median_us(function, repeat: int = 300) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        try:
            function()
        except Exception:  # noqa: BLE001 - errors are timed like results
            pass
        samples.append((time.perf_counter() - started) * 1e6)
    return statistics.median(samples)


def main() -> int:
    try:
        import jsonatapy
    except ImportError:
        print("jsonatapy is not installed; see this file's docstring", file=sys.stderr)
        return 2

    cases = []
    for path in sorted((ROOT / "examples" / "rules").glob("*.yaml")):
        ruleset = load_ruleset(path)
        raw = {k: v for k, v in read_document(path).data.items() if k != "tests"}
        sources = sorted(set(expressions(raw)))
        for test in ruleset.model.tests:
            event = test_event(test, path.parent)
            event_id = derive_event_id(event, ruleset.source, ruleset.preset, ruleset.event_id)
            event_type = derive_event_type(event, ruleset.source, ruleset.preset, ruleset.event_type)
            variables = variables_for(event, ruleset.source, event_id, event_type)
            variables.update(item=None, index=0)
            cases.extend((path.name, source, event.body, variables) for source in sources)
    cases.extend(("extra", source, data, {}) for data, source in EXTRA_CASES)

    disagreements, ours, theirs = [], [], []
    for name, source, data, variables in cases:
        mine = Expression(source)
        other = jsonatapy.compile(source, timeout=100)
        try:
            a = mine.evaluate(data, variables)
        except Exception as exc:  # noqa: BLE001 - report, do not stop
            a = f"error: {exc}"
        try:
            b = other.evaluate(data, {k: v for k, v in variables.items() if v is not None})
        except Exception as exc:  # noqa: BLE001
            b = f"error: {exc}"
        both_failed = str(a).startswith("error:") and str(b).startswith("error:")  # messages differ in form only
        if not both_failed and json.dumps(a, sort_keys=True, default=str) != json.dumps(b, sort_keys=True, default=str):
            disagreements.append((name, source, a, b))
        ours.append(median_us(functools.partial(mine.evaluate, data, variables), 50))
        theirs.append(median_us(functools.partial(other.evaluate, data, variables), 50))

    print(f"{len(cases)} expression evaluations ({len({c[1] for c in cases})} distinct expressions)")
    for name, samples in (("jsonata-python", ours), ("jsonatapy", theirs)):
        p90 = statistics.quantiles(samples, n=10)[-1]
        print(f"{name + ':':<16}median {statistics.median(samples):.1f} us, p90 {p90:.1f} us")
    print(f"{len(disagreements)} disagreements:")
    for name, source, a, b in disagreements:
        print(f"  [{name}] {source}\n      jsonata-python: {a!r}\n      jsonatapy:      {b!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
