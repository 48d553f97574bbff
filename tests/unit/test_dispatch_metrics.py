"""What the dispatch Lambda counts: the EMF lines Powertools prints, read back from stdout.

The store, sender and SQS are fakes, so each test chooses how every send ends (by recipient).
"""

from __future__ import annotations

import json
import textwrap
import time
from typing import Any

import pytest

from adapter.dispatch import Dispatcher
from adapter.observability import SERVICE, Metric
from adapter.settings import DispatchSettings
from braze.ledger import LedgerError
from braze.sender import SendReport, SendStatus
from mapping.ruleset import parse_ruleset

RULES = textwrap.dedent("""\
    version: 1
    source: shop
    verify: {preset: none}
    rules:
      - id: welcome
        campaign:
          campaign_id: c1
          recipient: {external_user_id: "{% user %}"}
    """)

# How the fake sender ends each recipient's send.
OUTCOMES: dict[str, tuple[SendStatus, bool]] = {
    "sent": (SendStatus.SENT, False),
    "timed-out": (SendStatus.HELD, True),  # this attempt made it unknown
    "held-earlier": (SendStatus.HELD, False),  # met again while held
    "refused": (SendStatus.FAILED, False),
    "braze-5xx": (SendStatus.RETRY, False),
}


class FakeStore:
    def __init__(self) -> None:
        self.ruleset = parse_ruleset(RULES, "rules/shop.yaml", version="v1", check_files=False)

    def get(self, source: str):
        return self.ruleset


class FakeLedger:
    def __init__(self, held: int = 0) -> None:
        self.held = held
        self.queries = 0

    def count_needing_attention(self, state: str, limit: int) -> int:
        assert state == "unknown"
        self.queries += 1
        return min(self.held, limit)


class FakeSender:
    def __init__(self, ledger: FakeLedger) -> None:
        self.ledger = ledger

    def send(self, requests, *, deadline=None) -> list[SendReport]:
        reports = []
        for request in requests:
            for send in request.sends:
                status, newly = OUTCOMES[send.recipient["external_user_id"]]
                reports.append(SendReport(send, status, status.value, newly_held=newly))
        return reports


class FakeSqs:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **kwargs: Any) -> None:
        self.sent.append(kwargs)

    def change_message_visibility(self, **kwargs: Any) -> None:
        pass


def record(user: str | None, index: int = 0, receives: int = 1) -> dict[str, Any]:
    attributes = {"source": {"stringValue": "shop", "dataType": "String"}}
    return {
        "messageId": f"m{index}",
        "receiptHandle": f"r{index}",
        "body": json.dumps({"user": user, "n": index}) if user else "not json",
        "messageAttributes": attributes if user else {},
        "attributes": {"ApproximateReceiveCount": str(receives)},
    }


@pytest.fixture
def ledger() -> FakeLedger:
    return FakeLedger()


class Clock:
    now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def dispatcher(ledger, clock, monkeypatch) -> Dispatcher:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", SERVICE)
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    settings = DispatchSettings(queue_url="q", dead_letter_queue_url="dlq", max_receive_count=3)
    return Dispatcher(settings, FakeStore(), FakeSender(ledger), s3=None, sqs=FakeSqs(), clock=clock)


@pytest.fixture
def metrics(capsys):
    """Every metric printed so far: (name, dimensions without `service`, value)."""

    def read() -> list[tuple[str, dict[str, str], float]]:
        found = []
        for line in capsys.readouterr().out.splitlines():
            if '"_aws"' not in line:
                continue
            emf = json.loads(line)
            [directive] = emf["_aws"]["CloudWatchMetrics"]
            [dimensions] = directive["Dimensions"]
            assert emf["service"] == SERVICE and "service" in dimensions  # what the alarms select on
            for metric in directive["Metrics"]:
                [value] = emf[metric["Name"]]
                labels = {name: emf[name] for name in dimensions if name != "service"}
                found.append((metric["Name"], labels, value))
        return found

    return read


def only(found, name):
    return [(labels, value) for metric, labels, value in found if metric == name]


def test_sends_unknown_counts_a_send_once_when_it_becomes_unknown(dispatcher, metrics):
    dispatcher.handle([record("timed-out", 0), record("held-earlier", 1)])
    assert only(metrics(), Metric.UNKNOWN) == [({"source": "shop", "rule": "welcome"}, 1.0)]


def test_a_send_met_again_while_held_is_not_counted(dispatcher, metrics):
    dispatcher.handle([record("held-earlier", 0)])
    assert only(metrics(), Metric.UNKNOWN) == []


# --- events retried and dead-lettered ------------------------------------------------------------


def test_retried_and_dead_lettered_events_are_counted_per_source(dispatcher, metrics):
    outcomes = dispatcher.handle(
        [
            record("sent", 0),
            record("braze-5xx", 1),
            record("braze-5xx", 2),
            record("refused", 3),
            record("braze-5xx", 4, receives=3),  # the last attempt: dead-lettered with a reason
            record(None, 5),  # unreadable: no source to name
        ]
    )
    assert [o.decision.value for o in outcomes] == [
        "done",
        "retry",
        "retry",
        "dead_letter",
        "dead_letter",
        "dead_letter",
    ]
    found = metrics()
    assert only(found, Metric.RETRIED) == [({"source": "shop"}, 2.0)]
    assert only(found, Metric.DEAD_LETTERED) == [({"source": "shop"}, 2.0), ({}, 1.0)]


def test_a_batch_that_all_goes_well_counts_no_retries_or_dead_letters(dispatcher, metrics):
    dispatcher.handle([record("sent", 0), record("held-earlier", 1)])
    found = metrics()
    assert only(found, Metric.RETRIED) == only(found, Metric.DEAD_LETTERED) == []


# --- the held-sends gauge ------------------------------------------------------------------------


def test_held_sends_gauge_is_published_zero_included_at_most_once_a_minute(dispatcher, ledger, clock, metrics):
    dispatcher.handle([record("sent", 0)])
    assert only(metrics(), Metric.HELD) == [({}, 0.0)]  # a zero is what lets the alarm clear
    ledger.held = 2  # e.g. held by another container meanwhile
    clock.now += 30
    dispatcher.handle([record("sent", 1)])
    assert only(metrics(), Metric.HELD) == [] and ledger.queries == 1
    clock.now += 30
    dispatcher.handle([record("sent", 2)])
    assert only(metrics(), Metric.HELD) == [({}, 2.0)] and ledger.queries == 2


def test_a_batch_that_holds_a_send_publishes_the_gauge_at_once(dispatcher, ledger, clock, metrics):
    dispatcher.handle([record("sent", 0)])
    metrics()
    clock.now += 1
    ledger.held = 0  # the index has not caught up with the send just held
    dispatcher.handle([record("timed-out", 1)])
    assert only(metrics(), Metric.HELD) == [({}, 1.0)]


def test_no_gauge_when_the_ledger_cannot_be_read_and_the_batch_still_succeeds(dispatcher, ledger, metrics):
    def unavailable(state, limit):
        raise LedgerError("DynamoDB query: throttled")

    ledger.count_needing_attention = unavailable
    outcomes = dispatcher.handle([record("sent", 0)])
    assert [o.decision.value for o in outcomes] == ["done"]
    assert only(metrics(), Metric.HELD) == []


def test_no_ledger_query_when_the_invocation_is_out_of_time(dispatcher, ledger, metrics):
    dispatcher.handle([record("held-earlier", 0)], deadline=time.monotonic() + 0.5)
    assert ledger.queries == 0 and only(metrics(), Metric.HELD) == []
