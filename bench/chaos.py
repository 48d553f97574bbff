"""Chaos run: 10,000 signed events through the local stack under injected faults.

Faults: 10% Braze 5xx, a burst of three 429s after every 40 accepted Braze requests, 1% read
timeouts (slow answers past the dispatch read timeout), 1% connection resets (half before, half
after Braze processed the request), 5% DynamoDB throttling at the client (ingress dedup and the
ledger), and 1% of dispatch workers killed before a request leaves plus 1% killed after it left,
with two dispatch workers racing for the same batches. At the end the ledger, the sandbox's
records and the dead-letter queue are compared with the sends the rules imply.

    .venv/bin/python bench/chaos.py [--events N] [--clients N] [--dispatchers N] [--seed S]

Exit status 1 when any send was lost or sent more than once.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from adapter.local.chaos import ChaosOptions, run_chaos  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--dispatchers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    logging.getLogger("adapter.local.poller").setLevel(logging.CRITICAL)
    report = run_chaos(
        ChaosOptions(events=args.events, clients=args.clients, dispatchers=args.dispatchers, seed=args.seed),
        progress=lambda message: print(message, file=sys.stderr, flush=True),
    )
    print("\n".join(report.lines()))
    return 1 if report.lost or report.sent_twice else 0


if __name__ == "__main__":
    sys.exit(main())
