"""build_envelope: every envelope fits in one SQS message; bounded_event_id."""

from __future__ import annotations

import hashlib
import json

from sources.envelope import MAX_EVENT_ID_LENGTH, MAX_MESSAGE_BYTES, bounded_event_id, build_envelope, parse_message


def envelope(raw: bytes, **overrides) -> str:
    fields = {
        "source": "stripe",
        "event_id": "evt_1",
        "event_type": "invoice.paid",
        "received_at": "2026-11-23T00:00:00.000Z",
        "headers": {"content-type": "application/json"},
        "query": {"a": "1"},
        "raw": raw,
        "archive_key": "archive/stripe/2026-11-23/evt_1.json",
    }
    return build_envelope(**(fields | overrides))


def test_bodies_that_fit_travel_inline():
    raw = b'{"id": "evt_1"}'
    event = parse_message(envelope(raw))
    assert (event.raw, event.headers, event.query, event.event_type) == (
        raw,
        {"content-type": "application/json"},
        {"a": "1"},
        "invoice.paid",
    )
    assert parse_message(envelope(b"\xff\xfe")).raw == b"\xff\xfe"  # not UTF-8: base64


REFERENCE_ONLY = {"kind", "v", "source", "event_id", "received_at", "archive_key"}


def test_the_serialized_size_decides_not_the_raw_size():
    # 50 KB of control characters and 150 KB of quotes are 300 KB once JSON-escaped: by reference.
    for raw in (b"\x01" * 50_000, b'"' * 150_000, b"x" * MAX_MESSAGE_BYTES):
        message = envelope(raw)
        assert len(message.encode()) <= MAX_MESSAGE_BYTES and set(json.loads(message)) == REFERENCE_ONLY
        assert parse_message(message).raw is None  # dispatch reads the archive
    plain = b"x" * 250_000  # plain text that fits once serialized stays inline
    message = envelope(plain)
    assert len(message.encode()) <= MAX_MESSAGE_BYTES and parse_message(message).raw == plain


def test_huge_headers_or_query_also_move_to_the_archive():
    message = envelope(b"{}", headers={"x-big": "v" * 300_000}, query={"q": "w" * 10})
    assert len(message.encode()) <= MAX_MESSAGE_BYTES and parse_message(message).raw is None


def test_characters_sqs_refuses_are_escaped():
    message = envelope('{"a": "\ufffe\uffff\U0001f600"}'.encode(), headers={"x": "\ud800"})
    assert not {"\ufffe", "\uffff", "\ud800"} & set(message)
    assert parse_message(message).raw == '{"a": "\ufffe\uffff\U0001f600"}'.encode()
    assert json.loads(message)["headers"] == {"x": "\ud800"}


def test_bounded_event_id():
    assert bounded_event_id("evt_1") == "evt_1"
    at_limit = "x" * MAX_EVENT_ID_LENGTH
    assert bounded_event_id(at_limit) == at_limit
    longer = at_limit + "y"
    assert bounded_event_id(longer) == "id-sha256:" + hashlib.sha256(longer.encode()).hexdigest()
    assert bounded_event_id(longer) == bounded_event_id(longer) != bounded_event_id(longer + "z")
