"""The chaos run in small (bench/chaos.py is the 10,000-event version): signed events through the
whole local stack while Braze, DynamoDB and the dispatch workers misbehave; nothing may be lost,
nothing may be sent twice, and no secret or e-mail address may reach a log line or the archive
while it happens."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import pytest

from adapter.local.chaos import ChaosOptions, ChaosReport, run_chaos
from adapter.local.stack import SANDBOX_KEY
from security.leakscan import Needles, capture_all_logs, emails_in, find_leaks
from sources.redaction import REDACTED

pytestmark = pytest.mark.e2e

# Higher fault rates than the full run, so that every kind of fault happens in a few hundred events.
OPTIONS = ChaosOptions(
    events=240,
    clients=4,
    dispatchers=2,
    error_rate=0.15,
    slow_rate=0.04,
    reset_before_rate=0.04,
    reset_after_rate=0.04,
    burst_every_requests=10,
    burst_size=2,
    dynamodb_throttle_rate=0.05,
    kill_rate=0.06,
    seed=11,
    timeout=240,
    every_fault_once=True,
)
SIGNATURE_HEADERS = {"stripe-signature", "x-signature", "webhook-signature"}


@dataclass(frozen=True)
class Run:
    report: ChaosReport
    logs: str
    secrets: dict[str, str]
    archive: dict[str, dict[str, Any]]  # key -> archived request


@pytest.fixture(scope="module")
def run() -> Run:
    seen: dict[str, Any] = {}

    def observe(stack: Any) -> None:
        seen["secrets"] = {**stack.signing_secrets, "braze api key": SANDBOX_KEY}
        seen["archive"] = _archive(stack)

    with capture_all_logs(logging.INFO) as logs:  # what operators run at; DEBUG slows this run down
        report = run_chaos(OPTIONS, observe=observe)
    return Run(report, logs.getvalue(), seen["secrets"], seen["archive"])


def _archive(stack: Any) -> dict[str, dict[str, Any]]:
    s3, bucket = stack.session.client("s3"), stack.resources.bucket
    records = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="archive/"):
        for item in page.get("Contents", []):
            records[item["Key"]] = json.loads(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
    return records


@pytest.fixture(scope="module")
def report(run: Run) -> ChaosReport:
    return run.report


def test_every_kind_of_fault_was_injected(report):
    kinds = [
        "braze 5xx",
        "braze 429",
        "braze slow",
        "braze reset_before",
        "braze reset_after",
        "dynamodb throttles",
        "workers killed before sending",
        "workers killed after sending",
    ]
    assert [kind for kind in kinds if not report.faults.get(kind)] == [], report.faults


def test_nothing_is_lost_or_sent_twice(report):
    assert report.expected > OPTIONS.events  # some events fire two rules
    assert report.lost == [], "\n".join(report.lines())
    assert report.sent_twice == [], "\n".join(report.lines())


def test_no_permanent_failures_without_permanent_faults(report):
    assert report.failed == [] and report.dead_letters == [], "\n".join(report.lines())


def test_every_expected_send_reached_braze_once_or_is_held(report):
    # Held sends are the ones an operator must look at; those Braze did get were counted as sent once.
    held_not_received = [key for key, delivered in report.held if not delivered]
    assert report.sent_once + len(held_not_received) == report.expected, "\n".join(report.lines())


def test_held_sends_come_only_from_ambiguous_outcomes(report):
    # A death after the request left, an answer that never came, a reset after Braze had it.
    ambiguous = sum(
        report.faults.get(kind, 0) for kind in ("workers killed after sending", "braze slow", "braze reset_after")
    )
    assert 0 < len(report.held)
    assert len(report.held) <= ambiguous * 50  # at most one request's recipients per ambiguous outcome


def test_no_secret_or_email_address_in_the_logs(run):
    assert run.logs  # INFO lines were written and captured
    needles = Needles()
    needles.add_all("secret", run.secrets)
    emails = {address for record in run.archive.values() for address in emails_in(record.get("body", ""))}
    assert emails  # the sign-up events carry addresses: the check below is not vacuous
    needles.add_all("email", emails)
    assert find_leaks(run.logs, needles, "chaos logs") == []


def test_the_archive_keeps_bodies_and_redacts_signatures(run):
    assert len(run.archive) == OPTIONS.events  # every accepted event, once, whatever was retried
    needles = Needles()
    needles.add_all("secret", run.secrets)
    for key, record in run.archive.items():
        signature_headers = {name: value for name, value in record["headers"].items() if name in SIGNATURE_HEADERS}
        assert signature_headers and set(signature_headers.values()) == {REDACTED}, key
        assert find_leaks(json.dumps(record), needles, key) == []
