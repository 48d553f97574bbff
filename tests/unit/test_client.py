import json
import logging
import time

import pytest

from braze.client import EndpointError, Outcome, check_endpoint, classify_response


def body(value):
    return json.dumps(value).encode()


def test_2xx_is_sent_with_dispatch_id_and_notice():
    result = classify_response(201, {}, body({"dispatch_id": "d1", "message": "success", "notice": "paused"}))
    assert (result.outcome, result.dispatch_id, result.notice) == (Outcome.SENT, "d1", "paused")


def test_2xx_errors_are_mapped_to_recipient_indexes():
    errors = [{"type": "user not found", "input_array": "recipients", "index": 2}, "some other minor error"]
    result = classify_response(201, {}, body({"message": "success", "errors": errors}))
    assert result.outcome is Outcome.SENT
    assert result.recipient_errors == {2: "user not found"}
    assert result.unmapped_errors == ("some other minor error",)


def test_429_waits_for_the_reset_header():
    reset = int(time.time()) + 42
    result = classify_response(429, {"X-RateLimit-Reset": str(reset), "X-RateLimit-Remaining": "0"}, b"{}")
    assert (result.outcome, result.retry_at, result.rate_limit_remaining) == (Outcome.RATE_LIMITED, reset, 0)


def test_429_without_headers_waits_a_minute():
    result = classify_response(429, {}, b"")
    assert result.outcome is Outcome.RATE_LIMITED
    assert time.time() + 50 < result.retry_at < time.time() + 70


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_retryable(status):
    assert classify_response(status, {}, b"upstream").outcome is Outcome.RETRYABLE


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 415])
def test_other_4xx_are_permanent_with_their_reason(status):
    result = classify_response(status, {}, body({"message": "Invalid Campaign ID", "errors": ["x"]}))
    assert result.outcome is Outcome.PERMANENT
    assert result.reason == f"HTTP {status}: Invalid Campaign ID: x"


def test_non_json_error_body_is_kept_short():
    result = classify_response(400, {}, b"<html>" + b"a" * 500)
    assert result.reason.startswith("HTTP 400: <html>") and len(result.reason) < 230


def test_email_addresses_in_braze_text_are_masked():
    # Braze's text can name the recipient; it becomes dead-letter reasons, ledger entries and log lines.
    errors = [
        {"type": "ada@example.com is not a valid email", "input_array": "recipients", "index": 0},
        {"message": "bob@example.org unsubscribed"},
    ]
    sent = classify_response(201, {}, body({"message": "success", "errors": errors}))
    assert sent.recipient_errors == {0: "a***@example.com is not a valid email"}
    assert sent.unmapped_errors == ('{"message": "b***@example.org unsubscribed"}',)
    refused = classify_response(400, {}, body({"message": "Invalid email ada@example.com", "errors": ["c@x.io"]}))
    assert refused.reason == "HTTP 400: Invalid email a***@example.com: c***@x.io"
    # A body cut short inside an address: masked before the cut, so no half address is left.
    cut = classify_response(502, {}, b"x" * 190 + b" ada.lovelace@example.com")
    assert cut.reason == "HTTP 502: " + "x" * 190 + " a***@exam" and "ada.lovel" not in cut.reason


def test_documented_hosts_pass_others_warn_http_only_local(caplog, monkeypatch):
    # Listen on the module's logger itself: once a handler module is imported, our package loggers
    # no longer propagate to the root logger caplog listens on (see route_library_logs).
    monkeypatch.setattr(logging.getLogger("braze.client"), "handlers", [caplog.handler])
    assert check_endpoint("https://rest.iad-01.braze.com/") == "https://rest.iad-01.braze.com"
    assert check_endpoint("https://rest.fra-02.braze.eu") == "https://rest.fra-02.braze.eu"
    assert caplog.records == []
    assert check_endpoint("https://braze-proxy.example.com") == "https://braze-proxy.example.com"
    assert "not a documented Braze REST host" in caplog.records[0].getMessage()
    assert check_endpoint("http://127.0.0.1:4010") == "http://127.0.0.1:4010"
    assert check_endpoint("http://localhost:4010") == "http://localhost:4010"
    for bad in ("http://rest.iad-01.braze.com", "ftp://x", "rest.iad-01.braze.com", ""):
        with pytest.raises(EndpointError):
            check_endpoint(bad)
