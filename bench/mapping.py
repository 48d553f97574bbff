"""Mapping speed and batching efficiency.

Prints, for every example rule file, the time to map one of its test events through all of its
rules (compiled once), as microseconds per event and per event per rule; then how many Braze
requests 1,000 recipients of one campaign need (the contract allows 50 recipients per request).

    .venv/bin/python bench/mapping.py [--iterations N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from mapping.engine import map_events  # noqa: E402
from mapping.events import InboundEvent  # noqa: E402
from mapping.ruleset import load_ruleset, parse_ruleset  # noqa: E402
from mapping.testing import test_event  # noqa: E402

ONE_CAMPAIGN = """\
version: 1
source: bench
verify: {preset: none}
rules:
  - id: welcome
    when: "{% type = 'signup' %}"
    campaign:
      campaign_id: 4f2c9a7e-8d1b-4c3e-9f6a-2b7d8e1c0a55
      recipient:
        external_user_id: "{% user.id %}"
        trigger_properties: {plan: "{% user.plan %}", seats: "{% user.seats %}"}
"""


def time_per_event(ruleset, events, iterations: int) -> float:
    """Median microseconds to map one event through every rule of `ruleset`."""
    map_events(ruleset, events)  # warm-up: caches, lazy imports
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        map_events(ruleset, events)
        samples.append((time.perf_counter() - started) / len(events) * 1e6)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    args = parser.parse_args()

    print(f"{'rule file':<22}{'rules':>6}{'events':>8}{'us/event':>11}{'us/event/rule':>15}")
    for path in sorted((ROOT / "examples" / "rules").glob("*.yaml")):
        ruleset = load_ruleset(path)
        events = [test_event(test, path.parent) for test in ruleset.model.tests]
        per_event = time_per_event(ruleset, events, args.iterations)
        rules = len(ruleset.rules)
        print(f"{path.name:<22}{rules:>6}{len(events):>8}{per_event:>11.1f}{per_event / rules:>15.1f}")

    ruleset = parse_ruleset(ONE_CAMPAIGN, "bench.yaml")
    events = [
        InboundEvent(
            body={"type": "signup", "user": {"id": f"user-{i}", "plan": "pro", "seats": i % 7}}, event_id=str(i)
        )
        for i in range(1000)
    ]
    started = time.perf_counter()
    result = map_events(ruleset, events)
    requests = result.requests()
    elapsed = time.perf_counter() - started
    recipients = sum(len(r.sends) for r in requests)
    print(
        f"\n1,000 recipients of one campaign: {len(requests)} Braze requests "
        f"({recipients} recipients, largest {max(len(r.sends) for r in requests)}), "
        f"mapped and batched in {elapsed * 1000:.0f} ms ({elapsed / len(events) * 1e6:.0f} us/event)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
