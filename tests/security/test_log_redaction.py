"""The handlers' log formatter (src/adapter/observability.py) redacts credential and signature fields.

A cheap pin of what tests/security/test_no_leaks.py checks end to end: an API Gateway event logged
by `POWERTOOLS_LOGGER_LOG_EVENT=true` keeps its routing fields but loses its signature, authorization
and cookie values, and e-mail addresses anywhere in the line are masked.
"""

from __future__ import annotations

import io
import json
import logging

from adapter.observability import logger
from sources.redaction import REDACTED


def _logged(message: object, **extra: object) -> dict:
    stream = io.StringIO()
    [handler] = [h for h in logger.handlers if isinstance(h, logging.StreamHandler)]
    previous, level = handler.setStream(stream), logger.log_level
    logger.setLevel(logging.INFO)  # whatever POWERTOOLS_LOG_LEVEL was when the module was first imported
    try:
        logger.info(message, extra=extra)
    finally:
        handler.setStream(previous)
        logger.setLevel(level)
    return json.loads(stream.getvalue())


def test_a_logged_event_keeps_its_routing_and_loses_its_credentials():
    event = {
        "rawPath": "/hooks/stripe",
        "headers": {
            "content-type": "application/json",
            "stripe-signature": "t=1,v1=0cfcbbe81cbd77bd93bb5fc9db162f95374f544ea9df9141c6b8d05da60889ac",
            "authorization": "Basic cHJveHk6cGFzcw==",
            "x-shopify-webhook-id": "wh-1",
        },
        "multiValueHeaders": {"X-Hub-Signature-256": ["sha256=88a56c"]},
        "cookies": ["session=abc"],
        "body": '{"email": "billz@supabase.io"}',
    }
    line = _logged(event, headers={"Api-Key": "k-123"}, reason="declined")
    logged = line["message"]
    assert logged["rawPath"] == "/hooks/stripe" and logged["headers"]["x-shopify-webhook-id"] == "wh-1"
    assert logged["headers"]["content-type"] == "application/json"
    assert logged["headers"]["stripe-signature"] == logged["headers"]["authorization"] == REDACTED
    assert logged["multiValueHeaders"]["X-Hub-Signature-256"] == REDACTED
    assert logged["cookies"] == REDACTED
    assert logged["body"] == '{"email": "b***@supabase.io"}'
    assert line["headers"] == {"Api-Key": REDACTED} and line["reason"] == "declined"


def test_ordinary_lines_are_untouched():
    line = _logged("event dead-lettered", message_id="m-1", reason="Braze refused this recipient: ada@example.com")
    assert line["message"] == "event dead-lettered" and line["message_id"] == "m-1"
    assert line["reason"] == "Braze refused this recipient: a***@example.com"


def test_library_loggers_write_masked_json_lines_once():
    import handlers.dispatch  # noqa: F401  (importing a handler routes the library loggers)

    stream = io.StringIO()
    handler = logger.registered_handler
    previous = handler.setStream(stream)
    root_records: list[logging.LogRecord] = []
    spy = logging.Handler()
    spy.emit = root_records.append  # type: ignore[method-assign]
    logging.getLogger().addHandler(spy)
    try:
        logging.getLogger("braze.sender").warning("could not record", extra={"who": "ada@example.com"})
    finally:
        logging.getLogger().removeHandler(spy)
        handler.setStream(previous)
    line = json.loads(stream.getvalue())
    assert line["message"] == "could not record" and line["who"] == "a***@example.com"
    assert line["service"] == "braze-webhook-adapter"
    assert root_records == []  # not printed a second time, unmasked, by Lambda's root handler


def test_digest_like_values_in_a_logged_event_s_headers_are_hidden_whatever_the_header_name():
    digest = "sha256=" + "0cfcbbe81cbd77bd93bb5fc9db162f95374f544ea9df9141c6b8d05da60889ac"
    b64 = "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="
    event = {
        "headers": {
            "x-acme-sig": digest,
            "x-partner": b64,
            "x-shopify-webhook-id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        },
        "multiValueHeaders": {"X-Acme-Sig": [digest]},
        "body": "0cfcbbe81cbd77bd93bb5fc9db162f95374f544ea9df9141c6b8d05da60889ac",
    }
    logged = _logged(event)["message"]
    assert logged["headers"]["x-acme-sig"] == logged["headers"]["x-partner"] == REDACTED
    assert logged["multiValueHeaders"]["X-Acme-Sig"] == [REDACTED]
    assert logged["headers"]["x-shopify-webhook-id"] == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"  # ids stay
    assert logged["body"] == event["body"]  # only header values are judged by their look
