"""DynamoDB round trips and Braze requests for 1,000 recipients of one campaign.

Starts a moto server (DynamoDB) and the Braze sandbox on 127.0.0.1, maps 1,000 events through a
one-rule file, sends them through the ledger, then sends the same events again (all duplicates).
Counts every HTTP request the DynamoDB client makes (retries included) and every request the
sandbox receives.

    .venv/bin/python bench/ledger.py [--recipients N]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import boto3  # noqa: E402

from adapter.delivery import build_sender  # noqa: E402
from adapter.local.moto_fixes import patch_moto  # noqa: E402
from adapter.local.resources import create_resources  # noqa: E402
from adapter.settings import DispatchSettings  # noqa: E402
from braze.sandbox import BrazeSandbox  # noqa: E402
from mapping.engine import map_events  # noqa: E402
from mapping.events import InboundEvent  # noqa: E402
from mapping.ruleset import parse_ruleset  # noqa: E402

RULES = """\
version: 1
source: bench
verify: {preset: none}
rules:
  - id: welcome
    campaign:
      campaign_id: 4f2c9a7e-8d1b-4c3e-9f6a-2b7d8e1c0a55
      recipient: {external_user_id: "{% user %}", trigger_properties: {plan: "{% plan %}"}}
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=1000)
    args = parser.parse_args()

    from moto.server import ThreadedMotoServer

    patch_moto()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://{host}:{port}",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        BENCH_BRAZE_KEY="sandbox-key",
    )
    sandbox = BrazeSandbox().start()
    try:
        resources = create_resources(boto3.Session())
        settings = DispatchSettings(
            ledger_table=resources.table, braze_endpoint=sandbox.url, braze_api_key="env:BENCH_BRAZE_KEY"
        )
        dynamodb = boto3.client("dynamodb")
        calls = {"n": 0}
        dynamodb.meta.events.register("before-send.dynamodb", lambda **_: calls.__setitem__("n", calls["n"] + 1))
        sender = build_sender(settings, dynamodb)
        ruleset = parse_ruleset(RULES, "bench.yaml")
        events = [
            InboundEvent(body={"user": f"user-{i}", "plan": "pro"}, event_id=f"evt-{i}") for i in range(args.recipients)
        ]

        for label in ("first delivery", "same events again (duplicates)"):
            calls["n"] = 0
            sandbox.clear()
            started = time.perf_counter()
            requests = map_events(ruleset, events).requests()
            reports = sender.send(requests)
            elapsed = time.perf_counter() - started
            statuses = {}
            for report in reports:
                statuses[report.status.value] = statuses.get(report.status.value, 0) + 1
            n = len(events)
            print(f"{label}: {n} recipients -> {statuses}")
            print(f"  DynamoDB round trips: {calls['n']} ({calls['n'] / n:.3f} per recipient)")
            braze = len(sandbox.attempts())
            print(f"  Braze requests: {braze} ({braze * 1000 / n:.0f} per 1,000 recipients)")
            print(f"  wall time: {elapsed:.2f} s (moto and the sandbox on this machine)")
    finally:
        sandbox.stop()
        moto.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
