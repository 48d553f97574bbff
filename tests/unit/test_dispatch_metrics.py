"""What the dispatch Lambda counts: the EMF lines Powertools prints, read back from stdout.

The store, sender and SQS are fakes, so each test chooses how every send ends (by recipient).
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

import pytest

from adapter.dispatch import Dispatcher
from adapter.observability import SERVICE, Metric
from adapter.settings import DispatchSettings
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
        "body": json.dumps({"user": user}) if user else "not json",
        "messageAttributes": attributes if user else {},
        "attributes": {"ApproximateReceiveCount": str(receives)},
    }


@pytest.fixture
def ledger() -> FakeLedger:
    return FakeLedger()


@pytest.fixture
def dispatcher(ledger, monkeypatch) -> Dispatcher:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", SERVICE)
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    settings = DispatchSettings(queue_url="q", dead_letter_queue_url="dlq", max_receive_count=3)
    return Dispatcher(settings, FakeStore(), FakeSender(ledger), s3=None, sqs=FakeSqs())


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
