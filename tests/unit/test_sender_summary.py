"""From per-send reports to one decision per event (what the dispatch Lambda acts on)."""

from braze.batching import Send
from braze.sender import EventDecision, SendReport, SendStatus, summarize
from mapping.engine import MappingFailure


def report(event, status, reason="", retry_at=None, recipient=None):
    send = Send(
        "/campaigns/trigger/send",
        {"campaign_id": "c"},
        recipient or {"email": "ada@example.com"},
        f"k{event}{status}",
        "src",
        "rule",
        f"e{event}",
        event_index=event,
    )
    return SendReport(send, status, reason, retry_at=retry_at)


def test_done_when_everything_is_sent_duplicate_or_held():
    results = summarize(1, [report(0, SendStatus.SENT), report(0, SendStatus.DUPLICATE), report(0, SendStatus.HELD)])
    assert results[0].decision is EventDecision.DONE


def test_events_without_sends_are_done():
    assert [r.decision for r in summarize(2, [])] == [EventDecision.DONE, EventDecision.DONE]


def test_rate_limited_retries_at_the_latest_reset():
    results = summarize(
        1, [report(0, SendStatus.RATE_LIMITED, "429", 100.0), report(0, SendStatus.RATE_LIMITED, "429", 160.0)]
    )
    assert (results[0].decision, results[0].retry_at) == (EventDecision.RETRY, 160.0)


def test_retry_wins_over_dead_letter():
    results = summarize(1, [report(0, SendStatus.FAILED, "HTTP 400"), report(0, SendStatus.RETRY, "HTTP 503")])
    assert results[0].decision is EventDecision.RETRY and results[0].reason == "HTTP 503"


def test_busy_is_retried():
    assert summarize(1, [report(0, SendStatus.BUSY, "another worker")])[0].decision is EventDecision.RETRY


def test_failures_and_mapping_errors_dead_letter_with_reasons_but_no_personal_data():
    error = MappingFailure(1, "m2", "e1", "welcome", "rules[0].campaign.recipient", "identifier undefined")
    results = summarize(2, [report(0, SendStatus.FAILED, "HTTP 400: Invalid Campaign ID")], [error])
    assert results[0].decision is EventDecision.DEAD_LETTER
    assert results[0].reason == "send rule to email: HTTP 400: Invalid Campaign ID"
    assert "ada@example.com" not in results[0].reason
    assert results[1].decision is EventDecision.DEAD_LETTER
    assert results[1].reason == "mapping: rule welcome rules[0].campaign.recipient: identifier undefined"


def test_reports_are_grouped_by_event():
    results = summarize(2, [report(1, SendStatus.SENT), report(0, SendStatus.RETRY, "x")])
    assert [len(r.reports) for r in results] == [1, 1]
    assert [r.decision for r in results] == [EventDecision.RETRY, EventDecision.DONE]
