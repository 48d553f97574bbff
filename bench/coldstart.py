"""Cold-start cost of each Lambda handler, as a ratio to `import boto3` measured in the same run.

Each figure is the median of N fresh interpreter processes (the first one is discarded: it warms
the file cache). Two views per handler:

* import: `import handlers.<name>` (what Lambda's init phase runs);
* import + wiring: the import plus building the handler's services (boto3 clients, rule store,
  ledger, Braze session) as the first request does, without any network call.

    .venv/bin/python bench/coldstart.py [--runs N]

Numbers are for .pyc-compiled code, as the `sam build` packages ship it (Makefile build targets).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BASELINE = "import boto3"
CASES = {
    "ingress import": "import handlers.ingress",
    "ingress import + wiring": "import handlers.ingress as h; h.receiver()",
    "dispatch import": "import handlers.dispatch",
    "dispatch import + wiring": "import handlers.dispatch as h; h.dispatcher()",
}
ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "BRAZE_ADAPTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
    "BRAZE_ADAPTER_BRAZE_ENDPOINT": "https://rest.iad-01.braze.com",
    "BRAZE_ADAPTER_BRAZE_API_KEY": "env:BENCH_KEY",
    "POWERTOOLS_METRICS_DISABLED": "true",
}


def time_statement(statement: str) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    env = {**os.environ, **ENVIRONMENT, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return float(result.stdout.strip().splitlines()[-1]) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    statements = {"import boto3": BASELINE, **CASES}
    samples: dict[str, list[float]] = {name: [] for name in statements}
    for run in range(args.runs + 1):  # interleaved, so drift hits every case alike
        for name, statement in statements.items():
            value = time_statement(statement)
            if run:
                samples[name].append(value)
    baseline = statistics.median(samples["import boto3"])
    print(f"{'':28}{'median ms':>10}{'min':>8}{'max':>8}{'x boto3':>9}")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:<28}{median:>10.1f}{min(values):>8.1f}{max(values):>8.1f}{median / baseline:>9.2f}")
    print("\ngoals: ingress import <= 1.5x, dispatch import <= 3x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
