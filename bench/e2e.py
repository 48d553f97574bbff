"""Signed webhooks through the whole local stack: events per second and ingress latency.

Starts the stack the way `make run` does, then posts N signed Stripe events from C client threads
(keep-alive sessions) to the local API. Reports the ingress latency seen by the clients
(p50/p90/p99), ingress throughput, and end-to-end throughput: from the first request until every
event's Braze send is recorded by the sandbox.

    .venv/bin/python bench/e2e.py [--events N] [--clients C]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import requests  # noqa: E402

from adapter.local.stack import LocalStack, StackOptions  # noqa: E402
from sources.presets import get_preset  # noqa: E402


def event(number: int) -> bytes:
    return json.dumps(
        {
            "id": f"evt_bench_{number}",
            "type": "payment_intent.payment_failed",
            "data": {"object": {"id": f"pi_{number}", "customer": f"cus_{number}", "amount": 1999, "currency": "usd"}},
        }
    ).encode()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()

    os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"
    stack = LocalStack(StackOptions(extra_environment={"POWERTOOLS_LOG_LEVEL": "ERROR"})).start()
    print(f"stack started in {stack.startup_seconds:.2f} s")
    secret = stack.signing_secrets["stripe"]
    url = stack.webhook_url("stripe")
    preset = get_preset("stripe")
    bodies = [event(n) for n in range(args.events)]
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()

    def client(indexes: range) -> None:
        session = requests.Session()
        for index in indexes:
            body = bodies[index]
            headers = {"content-type": "application/json", **preset.sign(body, secret, timestamp=int(time.time()))}
            started = time.perf_counter()
            response = session.post(url, data=body, headers=headers, timeout=30)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                if response.status_code != 202:
                    failures.append(response.status_code)

    # warm-up: the first requests load rules, secrets and clients
    for number in range(20):
        requests.post(
            url,
            data=event(10_000_000 + number),
            timeout=30,
            headers={"content-type": "application/json", **preset.sign(event(10_000_000 + number), secret)},
        )
    stack.wait_until_idle(30)
    stack.sandbox.clear()

    chunks = [range(i, args.events, args.clients) for i in range(args.clients)]
    threads = [threading.Thread(target=client, args=(chunk,)) for chunk in chunks]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ingress_seconds = time.perf_counter() - started

    def delivered() -> int:
        return sum(len(r["body"].get("recipients", [])) for r in stack.sandbox.requests())

    deadline = time.monotonic() + 300
    while delivered() < args.events and time.monotonic() < deadline:
        time.sleep(0.05)
    total_seconds = time.perf_counter() - started
    requests_sent = len(stack.sandbox.requests())
    stack.stop()

    print(f"{args.events} signed Stripe webhooks from {args.clients} clients")
    print(
        f"  ingress latency: p50 {percentile(latencies, 50):.1f} ms, p90 {percentile(latencies, 90):.1f} ms, "
        f"p99 {percentile(latencies, 99):.1f} ms, mean {statistics.mean(latencies):.1f} ms"
    )
    print(f"  ingress: {args.events / ingress_seconds:.0f} events/s accepted ({len(failures)} non-202)")
    print(f"  end to end: {delivered_text(args.events, total_seconds)} ({requests_sent} Braze requests)")
    return 0 if not failures else 1


def delivered_text(events: int, seconds: float) -> str:
    return f"{events} events delivered to the sandbox in {seconds:.1f} s = {events / seconds:.0f} events/s"


if __name__ == "__main__":
    sys.exit(main())
