"""Exactly-once delivery against a real moto server (DynamoDB) and the Braze sandbox over HTTP."""

from __future__ import annotations

import dataclasses
import socket
import struct
import textwrap
import threading
import time

import pytest

from adapter.delivery import build_sender
from adapter.settings import DispatchSettings
from braze.client import BrazeClient, Outcome, new_session
from braze.ledger import ClaimStatus
from braze.sender import EventDecision, SendStatus, summarize
from mapping.engine import map_events
from mapping.events import InboundEvent
from mapping.ruleset import parse_ruleset

pytestmark = pytest.mark.integration

RULES = textwrap.dedent("""\
    version: 1
    source: shop
    verify: {preset: none}
    rules:
      - id: welcome
        on_ambiguous: {ambiguous}
        campaign:
          campaign_id: c1
          recipient: {external_user_id: "{% user %}", trigger_properties: {n: "{% n %}"}}
    """)


def rules(ambiguous="hold"):
    return parse_ruleset(RULES.replace("{ambiguous}", ambiguous), "rules/shop.yaml")


def events(users, prefix="evt"):
    return [InboundEvent(body={"user": user, "n": i}, event_id=f"{prefix}-{user}") for i, user in enumerate(users)]


@pytest.fixture
def settings(resources, sandbox, monkeypatch):
    monkeypatch.setenv("SANDBOX_API_KEY", "sandbox-key")
    return DispatchSettings(
        ledger_table=resources.table,
        braze_endpoint=sandbox.url,
        braze_api_key="env:SANDBOX_API_KEY",
        read_timeout=0.5,
        connect_timeout=0.5,
    )


def deliver(settings, aws, users, ambiguous="hold", prefix="evt"):
    """Map events for `users` and send them; returns (reports, per-event results)."""
    ruleset = rules(ambiguous)
    batch = events(users, prefix)
    result = map_events(ruleset, batch)
    sender = build_sender(settings, aws.client("dynamodb"))
    reports = sender.send(result.requests())
    return reports, summarize(len(batch), reports, result.errors), sender


def recipients(sandbox):
    return [r["external_user_id"] for request in sandbox.requests() for r in request["body"]["recipients"]]


def statuses(reports):
    return [report.status for report in reports]


def test_sends_and_records_dispatch_id(settings, aws, sandbox):
    reports, results, sender = deliver(settings, aws, ["u1", "u2"])
    assert statuses(reports) == [SendStatus.SENT, SendStatus.SENT]
    assert [r.decision for r in results] == [EventDecision.DONE, EventDecision.DONE]
    assert recipients(sandbox) == ["u1", "u2"]
    dispatch_id = sandbox.requests()[0]["dispatch_id"]
    item = sender.ledger.get(reports[0].send.idempotency_key)
    assert item["state"] == "sent" and item["dispatch_id"] == dispatch_id
    assert item["event_id"] == "evt-u1" and item["rule_id"] == "welcome" and item["source"] == "shop"
    assert item["expires_at"] > time.time() + 6 * 24 * 3600


def test_duplicate_events_send_once(settings, aws, sandbox):
    deliver(settings, aws, ["u1", "u2"])
    reports, results, _ = deliver(settings, aws, ["u1", "u2", "u3"])
    assert statuses(reports) == [SendStatus.DUPLICATE, SendStatus.DUPLICATE, SendStatus.SENT]
    assert [r.decision for r in results] == [EventDecision.DONE] * 3
    assert recipients(sandbox) == ["u1", "u2", "u3"]
    assert [len(r["body"]["recipients"]) for r in sandbox.requests()] == [2, 1]  # sent ones are removed


def test_two_concurrent_senders_of_one_batch_send_each_recipient_once(settings, aws, sandbox):
    users = [f"u{i}" for i in range(120)]
    outcomes = []

    def run():
        reports, results, _ = deliver(settings, aws, users)
        outcomes.append(results)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(recipients(sandbox)) == sorted(users)
    # whatever lost a race was told to come back later, never to send again
    for results in outcomes:
        assert {r.decision for r in results} <= {EventDecision.DONE, EventDecision.RETRY}
    # a retry of the busy ones now finds them sent
    reports, _, _ = deliver(settings, aws, users)
    assert set(statuses(reports)) == {SendStatus.DUPLICATE}
    assert len(recipients(sandbox)) == 120


def test_5xx_then_success_sends_once(settings, aws, sandbox):
    sandbox.set_faults(script=["503"])
    reports, results, sender = deliver(settings, aws, ["u1"])
    assert statuses(reports) == [SendStatus.RETRY] and "HTTP 503" in reports[0].reason
    assert results[0].decision is EventDecision.RETRY
    assert sender.ledger.get(reports[0].send.idempotency_key) is None  # released
    reports, results, _ = deliver(settings, aws, ["u1"])
    assert statuses(reports) == [SendStatus.SENT]
    assert recipients(sandbox) == ["u1"]


def test_429_waits_for_the_reset_and_is_not_a_failure(settings, aws, sandbox):
    sandbox.set_faults(script=["429"], burst_reset_seconds=3)
    before = time.time()
    reports, results, sender = deliver(settings, aws, ["u1"])
    assert statuses(reports) == [SendStatus.RATE_LIMITED]
    assert results[0].decision is EventDecision.RETRY
    assert before + 1 <= results[0].retry_at <= before + 5
    assert sender.ledger.get(reports[0].send.idempotency_key) is None  # not a failed attempt: nothing recorded
    reports, _, _ = deliver(settings, aws, ["u1"])
    assert statuses(reports) == [SendStatus.SENT]


def test_rate_limit_stops_the_rest_of_the_batch_for_that_destination(settings, aws, sandbox):
    sandbox.set_faults(script=["429"])
    users = [f"u{i}" for i in range(60)]  # two requests
    reports, _, _ = deliver(settings, aws, users)
    assert set(statuses(reports)) == {SendStatus.RATE_LIMITED}
    assert len(sandbox.attempts()) == 1  # the second request was not attempted


def test_read_timeout_is_held_as_unknown_and_never_resent(settings, aws, sandbox):
    sandbox.set_faults(script=["slow"], slow_seconds=1.5)
    reports, results, sender = deliver(settings, aws, ["u1"])
    assert statuses(reports) == [SendStatus.HELD]
    assert results[0].decision is EventDecision.DONE  # nothing to retry: an operator decides
    key = reports[0].send.idempotency_key
    item = sender.ledger.get(key)
    assert item["state"] == "unknown" and "may have sent" in item["reason"]
    assert '"external_user_id":"u1"' in item["request"]
    assert [i["pk"] for i in sender.ledger.needing_attention("unknown")] == [key]
    time.sleep(1.2)  # let the slow response finish
    reports, _, _ = deliver(settings, aws, ["u1"])
    assert statuses(reports) == [SendStatus.HELD]
    assert recipients(sandbox) == ["u1"]  # Braze did receive it once, and only once


def test_a_held_send_never_expires_and_is_still_held_after_the_window(settings, aws, sandbox):
    # TTL must not turn a send Braze may have delivered into one a later delivery sends again.
    sandbox.set_faults(script=["reset_after"])
    reports, _, sender = deliver(settings, aws, ["u1"])
    key = reports[0].send.idempotency_key
    assert "expires_at" not in sender.ledger.get(key)
    later = time.time() + 30 * 24 * 3600  # long after the 7-day window
    sender.ledger.clock = lambda: later
    claims = sender.ledger.claim([_claim(key)])[1]
    assert claims[key].status is ClaimStatus.HELD
    assert recipients(sandbox) == ["u1"]


def test_a_stale_in_flight_send_held_as_unknown_never_expires(settings, aws):
    ledger = build_sender(settings, aws.client("dynamodb")).ledger
    past = time.time() - 3600
    ledger.clock = lambda: past
    token, _ = ledger.claim([_claim("k")])
    ledger.mark_sending(token, ["k"], lease_seconds=10)  # and the worker died
    ledger.clock = time.time
    assert ledger.claim([_claim("k")])[1]["k"].status is ClaimStatus.HELD
    item = ledger.get("k")
    assert item["state"] == "unknown" and "expires_at" not in item


def test_failed_and_resolved_sends_are_kept_a_whole_window_from_when_they_settled(settings, aws):
    from braze.ledger import Completion

    ledger = build_sender(settings, aws.client("dynamodb")).ledger
    window, now = ledger.ttl_seconds, time.time()
    ledger.clock = lambda: now - 3 * 24 * 3600  # claimed three days ago...
    token, _ = ledger.claim([_claim("k")])
    ledger.clock = lambda: now  # ...and refused by Braze now
    ledger.complete(token, Completion(sent={}, failed={"k": ("HTTP 400: bad", None)}, unknown={}, released=[]))
    assert ledger.get("k")["expires_at"] == pytest.approx(now + window, abs=1)
    later = now + 2 * 24 * 3600
    ledger.clock = lambda: later
    ledger.resolve_sent("k", "checked in Braze")
    assert ledger.get("k")["expires_at"] == pytest.approx(later + window, abs=1)


def _claim(key):
    from braze.ledger import ClaimRequest

    return ClaimRequest(key, "shop", "welcome", "evt-1")


def test_a_reset_after_the_request_was_written_is_ambiguous(settings, aws, sandbox):
    # Whether the server reset before or after processing, the client had written the whole
    # request: it cannot know, so both are held, never re-sent.
    sandbox.set_faults(script=["reset_after", "reset_before"])
    reports, _, _ = deliver(settings, aws, ["u1"])
    assert statuses(reports) == [SendStatus.HELD]
    reports, _, _ = deliver(settings, aws, ["u2"])
    assert statuses(reports) == [SendStatus.HELD]
    assert recipients(sandbox) == ["u1"]  # reset_before did not process u2; we still do not guess


def test_connection_refused_is_retryable(settings, aws, sandbox):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    refused = dataclasses.replace(settings, braze_endpoint=f"http://127.0.0.1:{port}")
    reports, results, sender = deliver(refused, aws, ["u1"])
    assert statuses(reports) == [SendStatus.RETRY]
    assert "before sending" in reports[0].reason
    assert results[0].decision is EventDecision.RETRY
    assert sender.ledger.get(reports[0].send.idempotency_key) is None


def test_reset_while_the_body_is_being_written_is_retryable():
    # A server that resets the connection after reading the headers: the body never fully left,
    # so Braze cannot have acted on it. The body is larger than any socket buffer can absorb.
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve_once():
        connection, _ = listener.accept()
        data = b""
        while b"\r\n\r\n" not in data:
            data += connection.recv(65536)
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()

    thread = threading.Thread(target=serve_once, daemon=True)
    thread.start()
    client = BrazeClient(f"http://127.0.0.1:{listener.getsockname()[1]}", "key", new_session("test"))
    body = {
        "campaign_id": "c",
        "recipients": [{"external_user_id": "u", "trigger_properties": {"b": "x" * 32_000_000}}],
    }
    result = client.send("/campaigns/trigger/send", body)
    thread.join(timeout=5)
    listener.close()
    assert (result.outcome, result.reason) == (Outcome.RETRYABLE, "connection failed before sending: ConnectionError")


def test_on_ambiguous_retry_resends(settings, aws, sandbox):
    sandbox.set_faults(script=["reset_after"])
    reports, results, _ = deliver(settings, aws, ["u1"], ambiguous="retry")
    assert statuses(reports) == [SendStatus.RETRY]
    assert results[0].decision is EventDecision.RETRY
    reports, _, _ = deliver(settings, aws, ["u1"], ambiguous="retry")
    assert statuses(reports) == [SendStatus.SENT]
    assert recipients(sandbox) == ["u1", "u1"]  # the rule accepted a possible duplicate


def test_2xx_with_errors_marks_exactly_the_failing_recipients(settings, aws, sandbox):
    reports, results, sender = deliver(settings, aws, ["u1", "sandbox-reject-2", "u3"])
    assert statuses(reports) == [SendStatus.SENT, SendStatus.FAILED, SendStatus.SENT]
    assert [r.decision for r in results] == [EventDecision.DONE, EventDecision.DEAD_LETTER, EventDecision.DONE]
    assert "send welcome to external_user_id: Braze refused this recipient" in results[1].reason
    states = [sender.ledger.get(r.send.idempotency_key)["state"] for r in reports]
    assert states == ["sent", "failed", "sent"]


def test_4xx_keeps_its_reason(settings, aws, sandbox, monkeypatch):
    monkeypatch.setenv("SANDBOX_API_KEY", "wrong-key")
    reports, results, sender = deliver(settings, aws, ["u1"])
    assert statuses(reports) == [SendStatus.FAILED]
    assert reports[0].reason.startswith("HTTP 401")
    assert results[0].decision is EventDecision.DEAD_LETTER
    item = sender.ledger.get(reports[0].send.idempotency_key)
    assert item["state"] == "failed" and item["reason"].startswith("HTTP 401")
    assert [i["pk"] for i in sender.ledger.needing_attention("failed")] == [reports[0].send.idempotency_key]
    # a failed key is claimable again once the cause is fixed (e.g. after a redrive)
    monkeypatch.setenv("SANDBOX_API_KEY", "sandbox-key")
    reports, _, _ = deliver(settings, aws, ["u1"])
    assert statuses(reports) == [SendStatus.SENT]


def test_stale_claim_is_taken_over_but_stale_sending_is_held(settings, aws, sandbox):
    from braze.ledger import ClaimRequest, ClaimStatus

    sender = build_sender(settings, aws.client("dynamodb"))
    ledger = sender.ledger
    past = time.time() - 3600
    ledger.clock = lambda: past  # a worker that claimed an hour ago and died before sending
    token, claims = ledger.claim(
        [ClaimRequest("k-claimed", "shop", "r", "e"), ClaimRequest("k-sending", "shop", "r", "e")]
    )
    assert {c.status for c in claims.values()} == {ClaimStatus.CLAIMED}
    ledger.mark_sending(token, ["k-sending"], lease_seconds=10)
    ledger.clock = time.time
    _, claims = ledger.claim([ClaimRequest("k-claimed", "shop", "r", "e"), ClaimRequest("k-sending", "shop", "r", "e")])
    assert claims["k-claimed"].status is ClaimStatus.CLAIMED
    assert claims["k-sending"].status is ClaimStatus.HELD
    assert ledger.get("k-sending")["state"] == "unknown"


def test_only_the_attempt_that_holds_a_send_reports_it_newly_held(settings, aws, sandbox):
    sandbox.set_faults(script=["slow"], slow_seconds=1.5)
    reports, _, _ = deliver(settings, aws, ["u1"])
    assert [(r.status, r.newly_held) for r in reports] == [(SendStatus.HELD, True)]
    time.sleep(1.2)  # let the slow response finish
    reports, _, _ = deliver(settings, aws, ["u1"])
    assert [(r.status, r.newly_held) for r in reports] == [(SendStatus.HELD, False)]  # counted once, above


def test_a_dead_workers_send_is_newly_held_only_for_the_claim_that_marks_it_unknown(settings, aws):
    from braze.ledger import ClaimRequest, ClaimStatus

    ledger = build_sender(settings, aws.client("dynamodb")).ledger
    past = time.time() - 3600
    ledger.clock = lambda: past  # a worker that marked the send in flight an hour ago and died
    token, _ = ledger.claim([ClaimRequest("k", "shop", "r", "e")])
    ledger.mark_sending(token, ["k"], lease_seconds=10)
    ledger.clock = time.time
    _, first = ledger.claim([ClaimRequest("k", "shop", "r", "e")])
    _, again = ledger.claim([ClaimRequest("k", "shop", "r", "e")])
    assert (first["k"].status, first["k"].newly_held) == (ClaimStatus.HELD, True)
    assert (again["k"].status, again["k"].newly_held) == (ClaimStatus.HELD, False)
    # Two workers racing on the same stale send: only the one whose update wins marks it.
    ledger.clock = lambda: past
    token, _ = ledger.claim([ClaimRequest("k2", "shop", "r", "e")])
    ledger.mark_sending(token, ["k2"], lease_seconds=10)
    ledger.clock = time.time
    stale = {"pk": "k2", "state": "sending", "lease_until": past + 10}
    assert ledger._mark_stale_sending_unknown("k2", time.time()) is True
    assert ledger._why_not_claimed({k: _typed(v) for k, v in stale.items()}, time.time()).newly_held is False


def _typed(value):
    return {"N": str(value)} if isinstance(value, float) else {"S": value}


def test_a_live_claim_is_busy(settings, aws):
    from braze.ledger import ClaimRequest, ClaimStatus

    ledger = build_sender(settings, aws.client("dynamodb")).ledger
    ledger.claim([ClaimRequest("k", "shop", "r", "e")])
    _, claims = ledger.claim([ClaimRequest("k", "shop", "r", "e"), ClaimRequest("k2", "shop", "r", "e")])
    assert claims["k"].status is ClaimStatus.BUSY
    assert claims["k2"].status is ClaimStatus.CLAIMED  # a conflict never blocks the rest of the batch


def test_not_enough_time_left_sends_nothing(settings, aws, sandbox):
    ruleset = rules()
    result = map_events(ruleset, events(["u1"]))
    sender = build_sender(settings, aws.client("dynamodb"))
    reports = sender.send(result.requests(), deadline=time.monotonic() + 1.5)
    assert statuses(reports) == [SendStatus.RETRY]
    assert sandbox.attempts() == []


def test_held_sends_are_counted_from_the_attention_index(settings, aws, sandbox):
    sandbox.set_faults(script=["reset_after", "reset_after"])
    _, _, sender = deliver(settings, aws, ["u1"])
    deliver(settings, aws, ["u2"])
    deliver(settings, aws, ["u3"])  # sent: not held
    assert sender.ledger.count_needing_attention("unknown", limit=1000) == 2
    assert sender.ledger.count_needing_attention("unknown", limit=1) == 1  # one bounded page
    assert sender.ledger.count_needing_attention("failed", limit=1000) == 0
