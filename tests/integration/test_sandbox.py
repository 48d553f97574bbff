"""The Braze sandbox, exercised over real HTTP like the product will use it.

Each test starts its own sandbox on a free port (cheap: ~1 ms to start, ~50 ms to stop), so no
state leaks between tests. Expected strings are spelled out literally on purpose: a changed
message must fail a test, not silently follow the constant.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from braze.sandbox import (
    DEFAULT_API_KEY,
    FAULT_NAMES,
    MAX_BODY_BYTES,
    BrazeSandbox,
    add_cli_arguments,
    parse_api_keys,
)

pytestmark = pytest.mark.integration

CAMPAIGN = "/campaigns/trigger/send"
CANVAS = "/canvas/trigger/send"
BOTH = {"campaigns.trigger.send", "canvas.trigger.send"}
SRC = Path(__file__).resolve().parents[2] / "src"

INVALID_JSON = "Error while parsing request body. Please check your syntax."
IDENTIFIER_RULE = 'Either "external_user_id" or "user_alias" or "email" is required. Requests must specify only one.'
PAUSED = "The Canvas is paused. Resume the Canvas to ensure trigger requests will take effect."
ARCHIVED = "The Canvas is archived. Unarchive the Canvas to ensure trigger requests will take effect."


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sandbox() -> Iterator[BrazeSandbox]:
    with BrazeSandbox(
        api_keys={DEFAULT_API_KEY: BOTH, "campaign-only": {"campaigns.trigger.send"}},
        campaign_ids={"camp-1", "camp-2"},
        canvas_ids={"canvas-1"},
        paused_canvases={"canvas-paused"},
        archived_canvases={"canvas-archived"},
        seed=7,
    ) as braze:
        yield braze


def post(
    braze: BrazeSandbox, path: str, body: Any = None, *, key: str | None = DEFAULT_API_KEY, **kwargs: Any
) -> requests.Response:
    headers = kwargs.pop("headers", {})
    if key is not None:
        headers.setdefault("Authorization", f"Bearer {key}")
    if body is not None:
        kwargs["json"] = body
    kwargs.setdefault("timeout", 5)
    return requests.post(braze.url + path, headers=headers, **kwargs)


def campaign_body(**fields: Any) -> dict[str, Any]:
    return {"campaign_id": "camp-1", "recipients": [{"external_user_id": "user-1"}], **fields}


def canvas_body(**fields: Any) -> dict[str, Any]:
    return {"canvas_id": "canvas-1", "recipients": [{"external_user_id": "user-1"}], **fields}


def raw_http(braze: BrazeSandbox, data: bytes, timeout: float = 5) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as-is and parse one response: for input `requests` refuses to produce."""
    with socket.create_connection(("127.0.0.1", braze.port), timeout=timeout) as sock:
        sock.sendall(data)
        return read_response(sock.makefile("rb"))


def read_response(stream: Any) -> tuple[int, dict[str, str], bytes]:
    status = int(stream.readline().split()[1])
    headers = {}
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, stream.read(int(headers.get("content-length", 0)))


def assert_error(response: requests.Response, status: int, message: str) -> None:
    assert (response.status_code, response.json()) == (status, {"message": message})


# --- success ---------------------------------------------------------------------------------------


def test_campaign_send_returns_201_and_is_recorded_with_redacted_key(sandbox: BrazeSandbox) -> None:
    body = campaign_body(trigger_properties={"order": 42}, send_id="send-1")
    response = post(sandbox, CAMPAIGN, body)

    assert response.status_code == 201
    payload = response.json()
    assert set(payload) == {"dispatch_id", "message"}
    assert payload["message"] == "success"
    assert re.fullmatch(r"[0-9a-f]{32}", payload["dispatch_id"])
    (record,) = sandbox.requests()
    assert record["seq"] == 1
    assert record["endpoint"] == "campaign"
    assert record["path"] == CAMPAIGN
    assert record["body"] == body
    assert record["status"] == 201
    assert record["response"] == payload
    assert record["dispatch_id"] == payload["dispatch_id"]
    assert (record["errors"], record["notice"], record["sent"], record["fault"]) == ([], None, True, "ok")
    assert record["unknown_fields"] == []
    assert record["headers"]["Authorization"] == "Bearer [REDACTED]"
    assert datetime.fromisoformat(record["received_at"]).utcoffset().total_seconds() == 0
    assert DEFAULT_API_KEY not in json.dumps(record)


def test_canvas_send_with_context_returns_201(sandbox: BrazeSandbox) -> None:
    body = canvas_body(context={"plan": "pro"}, recipients=[{"external_user_id": "u", "context": {"plan": "max"}}])
    response = post(sandbox, CANVAS, body)

    assert response.status_code == 201
    assert set(response.json()) == {"dispatch_id", "message"}
    (record,) = sandbox.requests()
    assert (record["endpoint"], record["body"], record["notice"], record["sent"]) == ("canvas", body, None, True)


def test_canvas_send_with_legacy_canvas_entry_properties_returns_201(sandbox: BrazeSandbox) -> None:
    body = canvas_body(canvas_entry_properties={"plan": "pro"})
    response = post(sandbox, CANVAS, body)

    assert response.status_code == 201
    assert sandbox.requests()[0]["body"]["canvas_entry_properties"] == {"plan": "pro"}


def test_campaign_broadcast_returns_a_send_id(sandbox: BrazeSandbox) -> None:
    generated = post(sandbox, CAMPAIGN, {"campaign_id": "camp-1", "broadcast": True}).json()
    given = post(sandbox, CAMPAIGN, {"campaign_id": "camp-1", "broadcast": True, "send_id": "spring"}).json()

    assert re.fullmatch(r"[0-9a-f]{16}", generated["send_id"])
    assert given["send_id"] == "spring"
    assert "send_id" not in post(sandbox, CAMPAIGN, campaign_body()).json()


def test_audience_with_broadcast_false_and_no_recipients_is_accepted(sandbox: BrazeSandbox) -> None:
    audience = {
        "AND": [
            {"custom_attribute": {"custom_attribute_name": "tier", "comparison": "equals", "value": "gold"}},
            {
                "OR": [
                    {"push_subscription_status": {"comparison": "is", "value": "opted_in"}},
                    {"email_subscription_status": {"comparison": "is", "value": "subscribed"}},
                ]
            },
        ]
    }
    response = post(sandbox, CAMPAIGN, {"campaign_id": "camp-1", "broadcast": False, "audience": audience})

    assert response.status_code == 201


def test_recipient_variants_are_accepted(sandbox: BrazeSandbox) -> None:
    recipients = [
        {"external_user_id": "u-1", "trigger_properties": {"a": 1}},
        {"user_alias": {"alias_name": "é" * 118, "alias_label": "l" * 236}},  # exactly 236 bytes each
        {"email": "a@example.com", "prioritization": ["unidentified", "most_recently_updated"]},
        {"external_user_id": "u-2", "send_to_existing_only": False, "attributes": {"first_name": "Ada"}},
        {"external_user_id": "u-3", "send_to_existing_only": False, "attributes": {}},
    ]
    response = post(sandbox, CAMPAIGN, campaign_body(recipients=recipients))

    assert response.status_code == 201
    assert set(response.json()) == {"dispatch_id", "message"}


def test_limits_are_inclusive(sandbox: BrazeSandbox) -> None:
    fifty = [{"external_user_id": f"u-{i}"} for i in range(50)]
    # 50 KB of compact JSON exactly: {"k":"xxx..."} is 8 bytes of overhead.
    properties = {"k": "x" * (50 * 1024 - 8)}
    response = post(sandbox, CAMPAIGN, campaign_body(recipients=fifty, trigger_properties=properties, send_id="s" * 64))

    assert response.status_code == 201


def test_unknown_top_level_fields_are_tolerated_recorded_and_api_key_redacted(sandbox: BrazeSandbox) -> None:
    response = post(sandbox, CAMPAIGN, campaign_body(segment_id="seg", api_key="legacy-secret", extra=1))

    assert response.status_code == 201
    (record,) = sandbox.requests()
    assert record["unknown_fields"] == ["segment_id", "api_key", "extra"]
    assert record["body"]["api_key"] == "[REDACTED]"
    assert "legacy-secret" not in json.dumps(sandbox.requests())


def test_any_id_is_accepted_when_no_id_sets_are_configured() -> None:
    with BrazeSandbox() as braze:
        assert post(braze, CAMPAIGN, campaign_body(campaign_id="whatever")).status_code == 201
        assert post(braze, CANVAS, canvas_body(canvas_id="whatever")).status_code == 201


@pytest.mark.parametrize(("canvas_id", "notice"), [("canvas-paused", PAUSED), ("canvas-archived", ARCHIVED)])
def test_paused_or_archived_canvas_is_accepted_with_notice_but_not_sent(
    sandbox: BrazeSandbox, canvas_id: str, notice: str
) -> None:
    response = post(sandbox, CANVAS, canvas_body(canvas_id=canvas_id))

    assert response.status_code == 201
    payload = response.json()
    assert payload == {"notice": notice, "dispatch_id": payload["dispatch_id"], "message": "success"}
    (record,) = sandbox.requests()
    assert (record["notice"], record["sent"], record["errors"]) == (notice, False, [])


# --- per-recipient (minor) errors ------------------------------------------------------------------


def test_rejected_recipients_get_one_indexed_error_each_and_the_rest_are_accepted(sandbox: BrazeSandbox) -> None:
    recipients = [
        {"external_user_id": "user-ok"},
        {"external_user_id": "sandbox-reject-1"},
        {"email": "sandbox-reject@example.com", "prioritization": ["identified"]},
        {"user_alias": {"alias_name": "sandbox-reject-alias", "alias_label": "crm"}},
    ]
    response = post(sandbox, CANVAS, canvas_body(recipients=recipients))

    assert response.status_code == 201
    expected_errors = [
        {
            "type": "Recipient with external_user_id 'sandbox-reject-1' could not be resolved to a user profile",
            "input_array": "recipients",
            "index": 1,
        },
        {
            "type": "Recipient with email 'sandbox-reject@example.com' could not be resolved to a user profile",
            "input_array": "recipients",
            "index": 2,
        },
        {
            "type": "Recipient with alias_name 'sandbox-reject-alias' could not be resolved to a user profile",
            "input_array": "recipients",
            "index": 3,
        },
    ]
    payload = response.json()
    assert payload == {"dispatch_id": payload["dispatch_id"], "message": "success", "errors": expected_errors}
    assert sandbox.requests()[0]["errors"] == expected_errors


def test_reject_recipients_accepts_a_collection_or_a_callable() -> None:
    recipients = [{"external_user_id": "a"}, {"external_user_id": "b"}, {"external_user_id": "sandbox-reject-1"}]
    with BrazeSandbox(reject_recipients={"b"}) as braze:
        errors = post(braze, CAMPAIGN, campaign_body(recipients=recipients)).json()["errors"]
        assert [error["index"] for error in errors] == [1]
    with BrazeSandbox(reject_recipients=lambda identifier: identifier == "a") as braze:
        errors = post(braze, CAMPAIGN, campaign_body(recipients=recipients)).json()["errors"]
        assert [error["index"] for error in errors] == [0]


# --- authentication --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Bearer ",
        "Basic c2FuZGJveC1rZXk=",
        "sandbox-key",
        'Bearer "sandbox-key"',
        "Bearer wrong-key",
        "Bearer sandbox-key extra",
    ],
)
def test_missing_malformed_or_unknown_key_gets_401(sandbox: BrazeSandbox, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = post(sandbox, CAMPAIGN, campaign_body(), key=None, headers=headers)

    assert_error(response, 401, "Error authenticating credentials")
    assert sandbox.requests() == []
    assert [attempt["status"] for attempt in sandbox.attempts()] == [401]


def test_api_key_in_the_body_is_not_accepted(sandbox: BrazeSandbox) -> None:
    response = post(sandbox, CAMPAIGN, campaign_body(api_key=DEFAULT_API_KEY), key=None)

    assert_error(response, 401, "Error authenticating credentials")


def test_key_without_the_endpoint_permission_gets_403(sandbox: BrazeSandbox) -> None:
    denied = post(sandbox, CANVAS, canvas_body(), key="campaign-only")
    allowed = post(sandbox, CAMPAIGN, campaign_body(), key="campaign-only")

    assert_error(denied, 403, "Access Denied")
    assert allowed.status_code == 201
    assert [record["endpoint"] for record in sandbox.requests()] == ["campaign"]


def test_bearer_scheme_is_case_insensitive(sandbox: BrazeSandbox) -> None:
    response = post(sandbox, CAMPAIGN, campaign_body(), key=None, headers={"Authorization": "bearer sandbox-key"})

    assert response.status_code == 201


@pytest.mark.parametrize("path", [CAMPAIGN + "/", CANVAS + "/"])
def test_trailing_slash_gets_403_access_denied(sandbox: BrazeSandbox, path: str) -> None:
    assert_error(post(sandbox, path, campaign_body()), 403, "Access Denied")
    assert_error(post(sandbox, path, campaign_body(), key="wrong"), 401, "Error authenticating credentials")


# --- transport: routing, media type, size, JSON -----------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", CAMPAIGN),
        ("PUT", CANVAS),
        ("DELETE", CAMPAIGN),
        ("PATCH", CAMPAIGN),
        ("POST", "/users/track"),
        ("POST", "/"),
        ("POST", "/campaigns/trigger"),
        ("GET", "/_sandbox/nope"),
        ("OPTIONS", CAMPAIGN),
    ],
)
def test_other_paths_and_methods_get_404_invalid_url(sandbox: BrazeSandbox, method: str, path: str) -> None:
    headers = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
    response = requests.request(method, sandbox.url + path, json={}, headers=headers, timeout=5)

    assert_error(response, 404, "Invalid URL")


def test_head_and_unknown_methods_get_404(sandbox: BrazeSandbox) -> None:
    head = requests.head(sandbox.url + CAMPAIGN, timeout=5)
    status, headers, body = raw_http(sandbox, b"BREW /campaigns/trigger/send HTTP/1.1\r\nHost: x\r\n\r\n")

    assert (head.status_code, head.content) == (404, b"")
    assert (status, json.loads(body)) == (404, {"message": "Invalid URL"})


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded", "application/jsonx"])
def test_wrong_or_missing_content_type_gets_415(sandbox: BrazeSandbox, content_type: str | None) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = post(sandbox, CAMPAIGN, data=json.dumps(campaign_body()).encode(), headers=headers)

    assert_error(response, 415, "Unsupported Media Type")
    assert sandbox.requests() == []


def test_json_content_type_with_charset_is_accepted(sandbox: BrazeSandbox) -> None:
    headers = {"Content-Type": "Application/JSON; charset=utf-8"}
    response = post(sandbox, CAMPAIGN, data=json.dumps(campaign_body()).encode(), headers=headers)

    assert response.status_code == 201


def test_body_over_4_mb_gets_413_and_exactly_4_mb_is_fine(sandbox: BrazeSandbox) -> None:
    def body_of(size: int) -> bytes:
        head = json.dumps(campaign_body(pad="")).encode()
        return head[:-2] + b"x" * (size - len(head)) + head[-2:]

    exactly = post(sandbox, CAMPAIGN, data=body_of(MAX_BODY_BYTES), headers={"Content-Type": "application/json"})
    over = post(sandbox, CAMPAIGN, data=body_of(MAX_BODY_BYTES + 1), headers={"Content-Type": "application/json"})

    assert MAX_BODY_BYTES == 4 * 1024 * 1024
    assert exactly.status_code == 201
    assert_error(over, 413, "Payload Too Large")
    assert len(sandbox.requests()) == 1


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"not json",
        b"",
        b"[1, 2]",
        b'"just a string"',
        b"null",
        b'{"campaign_id": NaN}',
        b'\xff\xfe{"campaign_id": "camp-1"}',
        b'{"campaign_id": "caf\xe9"}',
        b"[" * 100_000,
        b'{"campaign_id": "camp-1", "broadcast": true, "x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    ],
)
def test_unparseable_body_gets_400_parse_error(sandbox: BrazeSandbox, raw: bytes) -> None:
    response = post(sandbox, CAMPAIGN, data=raw, headers={"Content-Type": "application/json"})

    assert_error(response, 400, INVALID_JSON)
    assert sandbox.requests() == []


# --- validation --------------------------------------------------------------------------------------

_BIG = {"k": "x" * (50 * 1024)}
_ALIAS = {"alias_name": "n", "alias_label": "l"}


def _r(**fields: Any) -> dict[str, Any]:
    return {"external_user_id": "user-1", **fields}


VALIDATION_CASES = [
    # (id, path, body, message)
    ("missing campaign_id", CAMPAIGN, {"broadcast": True}, "Invalid Campaign ID"),
    ("empty campaign_id", CAMPAIGN, campaign_body(campaign_id=""), "Invalid Campaign ID"),
    ("numeric campaign_id", CAMPAIGN, campaign_body(campaign_id=1), "Invalid Campaign ID"),
    ("unknown campaign_id", CAMPAIGN, campaign_body(campaign_id="camp-x"), "Invalid Campaign ID"),
    ("missing canvas_id", CANVAS, {"broadcast": True}, "Invalid Canvas ID"),
    ("unknown canvas_id", CANVAS, canvas_body(canvas_id="canvas-x"), "Invalid Canvas ID"),
    (
        "broadcast with recipients",
        CAMPAIGN,
        campaign_body(broadcast=True),
        '"recipients" cannot be included when "broadcast" is true',
    ),
    (
        "broadcast with empty recipients",
        CANVAS,
        canvas_body(broadcast=True, recipients=[]),
        '"recipients" cannot be included when "broadcast" is true',
    ),
    ("no target", CAMPAIGN, {"campaign_id": "camp-1"}, "No Recipients"),
    ("broadcast false, empty recipients", CANVAS, canvas_body(broadcast=False, recipients=[]), "No Recipients"),
    (
        "51 recipients",
        CAMPAIGN,
        campaign_body(recipients=[_r()] * 51),
        "The max number of external_ids and aliases per request was exceeded",
    ),
    ("recipient without identifier", CAMPAIGN, campaign_body(recipients=[{"trigger_properties": {}}]), IDENTIFIER_RULE),
    ("recipient with braze_id only", CAMPAIGN, campaign_body(recipients=[{"braze_id": "b"}]), IDENTIFIER_RULE),
    (
        "external_user_id and email",
        CAMPAIGN,
        campaign_body(recipients=[_r(email="a@b.c", prioritization=["identified"])]),
        IDENTIFIER_RULE,
    ),
    ("external_user_id and user_alias", CANVAS, canvas_body(recipients=[_r(user_alias=_ALIAS)]), IDENTIFIER_RULE),
    (
        "empty external_user_id",
        CAMPAIGN,
        campaign_body(recipients=[{"external_user_id": ""}]),
        '"external_user_id" must be a non-empty string',
    ),
    (
        "recipient not an object",
        CAMPAIGN,
        campaign_body(recipients=["user-1"]),
        'each entry of "recipients" must be an object',
    ),
    (
        "recipients not a list",
        CAMPAIGN,
        campaign_body(recipients={"external_user_id": "u"}),
        '"recipients" must be an array',
    ),
    (
        "broadcast not a boolean",
        CAMPAIGN,
        {"campaign_id": "camp-1", "broadcast": "true"},
        '"broadcast" must be a boolean',
    ),
    (
        "alias without label",
        CAMPAIGN,
        campaign_body(recipients=[{"user_alias": {"alias_name": "n"}}]),
        '"user_alias" must be an object with non-empty "alias_name" and "alias_label" strings',
    ),
    (
        "alias not an object",
        CAMPAIGN,
        campaign_body(recipients=[{"user_alias": "n"}]),
        '"user_alias" must be an object with non-empty "alias_name" and "alias_label" strings',
    ),
    (
        "alias_name over 236 bytes",
        CAMPAIGN,
        campaign_body(recipients=[{"user_alias": {"alias_name": "é" * 119, "alias_label": "l"}}]),
        '"alias_name" and "alias_label" must be 236 bytes or fewer',
    ),
    (
        "alias_label over 236 bytes",
        CANVAS,
        canvas_body(recipients=[{"user_alias": {"alias_name": "n", "alias_label": "l" * 237}}]),
        '"alias_name" and "alias_label" must be 236 bytes or fewer',
    ),
    (
        "email without prioritization",
        CAMPAIGN,
        campaign_body(recipients=[{"email": "a@b.c"}]),
        '"prioritization" is required when "email" is the identifier',
    ),
    (
        "prioritization unknown value",
        CANVAS,
        canvas_body(recipients=[{"email": "a@b.c", "prioritization": ["newest"]}]),
        '"prioritization" must be an array of "identified" or "unidentified" (not both), '
        '"most_recently_updated", "least_recently_updated"',
    ),
    (
        "prioritization identified and unidentified",
        CAMPAIGN,
        campaign_body(recipients=[{"email": "a@b.c", "prioritization": ["identified", "unidentified"]}]),
        '"prioritization" must be an array of "identified" or "unidentified" (not both), '
        '"most_recently_updated", "least_recently_updated"',
    ),
    (
        "prioritization empty",
        CAMPAIGN,
        campaign_body(recipients=[{"email": "a@b.c", "prioritization": []}]),
        '"prioritization" must be an array of "identified" or "unidentified" (not both), '
        '"most_recently_updated", "least_recently_updated"',
    ),
    (
        "send_to_existing_only false with alias",
        CAMPAIGN,
        campaign_body(recipients=[{"user_alias": _ALIAS, "send_to_existing_only": False, "attributes": {"a": 1}}]),
        '"send_to_existing_only" cannot be false for a recipient with "user_alias"',
    ),
    (
        "send_to_existing_only false without attributes",
        CANVAS,
        canvas_body(recipients=[_r(send_to_existing_only=False)]),
        '"attributes" must be included when "send_to_existing_only" is false',
    ),
    (
        "send_to_existing_only not a boolean",
        CAMPAIGN,
        campaign_body(recipients=[_r(send_to_existing_only="no")]),
        '"send_to_existing_only" must be a boolean',
    ),
    (
        "attributes not an object",
        CAMPAIGN,
        campaign_body(recipients=[_r(attributes=[1])]),
        '"attributes" must be an object',
    ),
    (
        "trigger_properties over 50 KB",
        CAMPAIGN,
        campaign_body(trigger_properties=_BIG),
        '"trigger_properties" must be 50 KB or smaller',
    ),
    (
        "recipient trigger_properties over 50 KB",
        CAMPAIGN,
        campaign_body(recipients=[_r(trigger_properties=_BIG)]),
        '"trigger_properties" must be 50 KB or smaller',
    ),
    (
        "trigger_properties not an object",
        CAMPAIGN,
        campaign_body(trigger_properties=[1]),
        '"trigger_properties" must be an object',
    ),
    ("context over 50 KB", CANVAS, canvas_body(context=_BIG), '"context" must be 50 KB or smaller'),
    (
        "canvas_entry_properties over 50 KB",
        CANVAS,
        canvas_body(canvas_entry_properties=_BIG),
        '"canvas_entry_properties" must be 50 KB or smaller',
    ),
    (
        "recipient context over 50 KB",
        CANVAS,
        canvas_body(recipients=[_r(context=_BIG)]),
        '"context" must be 50 KB or smaller',
    ),
    ("send_id over 64 chars", CAMPAIGN, campaign_body(send_id="s" * 65), '"send_id" must be 1 to 64 ASCII characters'),
    ("send_id not ASCII", CAMPAIGN, campaign_body(send_id="sénd"), '"send_id" must be 1 to 64 ASCII characters'),
    ("send_id not a string", CAMPAIGN, campaign_body(send_id=5), '"send_id" must be a string'),
    (
        "attachments with broadcast",
        CAMPAIGN,
        {"campaign_id": "camp-1", "broadcast": True, "attachments": [{"file_name": "a", "url": "https://x/a.pdf"}]},
        '"attachments" cannot be included when "broadcast" is true',
    ),
    (
        "attachment without url",
        CAMPAIGN,
        campaign_body(attachments=[{"file_name": "a"}]),
        'each attachment must be an object with non-empty "file_name" and "url" strings',
    ),
    ("send_id on canvas", CANVAS, canvas_body(send_id="s"), '"send_id" is not supported by /canvas/trigger/send'),
    (
        "attachments on canvas",
        CANVAS,
        canvas_body(attachments=[]),
        '"attachments" is not supported by /canvas/trigger/send',
    ),
    (
        "audience as array",
        CAMPAIGN,
        {"campaign_id": "camp-1", "audience": [{"custom_attribute": {}}]},
        '"audience" must be one filter or an "AND"/"OR" object of filters',
    ),
    (
        "audience unknown filter",
        CAMPAIGN,
        {"campaign_id": "camp-1", "audience": {"segment": {"id": "s"}}},
        '"audience" must be one filter or an "AND"/"OR" object of filters',
    ),
    (
        "audience empty AND",
        CANVAS,
        {"canvas_id": "canvas-1", "audience": {"AND": []}},
        '"audience" must be one filter or an "AND"/"OR" object of filters',
    ),
]


@pytest.mark.parametrize(
    ("path", "body", "message"), [case[1:] for case in VALIDATION_CASES], ids=[case[0] for case in VALIDATION_CASES]
)
def test_invalid_body_gets_400_with_message_and_nothing_is_recorded(
    sandbox: BrazeSandbox, path: str, body: dict[str, Any], message: str
) -> None:
    response = post(sandbox, path, body)

    assert_error(response, 400, message)
    assert set(response.headers) >= {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"}
    assert sandbox.requests() == []
    assert [(a["status"], a["message"], a["accepted"]) for a in sandbox.attempts()] == [(400, message, False)]


def test_one_fatal_recipient_fails_the_whole_batch_without_minor_errors(sandbox: BrazeSandbox) -> None:
    recipients = [{"external_user_id": "ok"}, {"external_user_id": "sandbox-reject-1"}, {"email": "no-prio@x.y"}]
    response = post(sandbox, CAMPAIGN, campaign_body(recipients=recipients))

    assert_error(response, 400, '"prioritization" is required when "email" is the identifier')
    assert sandbox.requests() == []


# --- rate limiting -------------------------------------------------------------------------------------


def rate_headers(response: requests.Response) -> tuple[str, str, str]:
    h = response.headers
    return h["X-RateLimit-Limit"], h["X-RateLimit-Remaining"], h["X-RateLimit-Reset"]


def test_rate_limit_headers_count_down_then_429_then_reset_on_the_next_window() -> None:
    clock = FakeClock(1_000_003.5)
    with BrazeSandbox(rate_limit=3, rate_window_seconds=10, clock=clock) as braze:
        counted = [post(braze, CAMPAIGN, campaign_body()) for _ in range(3)]
        limited = post(braze, CAMPAIGN, campaign_body())
        clock.now = 1_000_010.0
        after_reset = post(braze, CAMPAIGN, campaign_body())

        assert [r.status_code for r in counted] == [201, 201, 201]
        assert [rate_headers(r) for r in counted] == [
            ("3", "2", "1000010"),
            ("3", "1", "1000010"),
            ("3", "0", "1000010"),
        ]
        assert_error(limited, 429, "Rate Limited")
        assert rate_headers(limited) == ("3", "0", "1000010")
        assert "Retry-After" not in limited.headers
        assert (after_reset.status_code, rate_headers(after_reset)) == (201, ("3", "2", "1000020"))
        assert len(braze.requests()) == 4
        assert [a["status"] for a in braze.attempts()] == [201, 201, 201, 429, 201]


def test_default_window_resets_on_the_clock_hour() -> None:
    clock = FakeClock(1_795_460_400.0 - 1234)  # 1_795_460_400 is an hour boundary (a multiple of 3600)
    with BrazeSandbox(clock=clock) as braze:
        response = post(braze, CAMPAIGN, campaign_body())

    assert rate_headers(response) == ("250000", "249999", "1795460400")
    assert 1_795_460_400 % 3600 == 0


def test_requests_rejected_before_the_quota_carry_headers_but_do_not_count() -> None:
    clock = FakeClock(1_000_000.0)
    with BrazeSandbox(rate_limit=5, rate_window_seconds=60, clock=clock) as braze:
        unauthorised = post(braze, CAMPAIGN, campaign_body(), key="wrong")
        not_found = post(braze, "/nope", {})
        counted = post(braze, CAMPAIGN, {"campaign_id": "camp-1"})  # 400, but it passed auth: it counts

        assert rate_headers(unauthorised) == ("5", "5", "1000020")
        assert rate_headers(not_found) == ("5", "5", "1000020")
        assert (counted.status_code, rate_headers(counted)) == (400, ("5", "4", "1000020"))


def test_rate_limit_window_resets_in_real_time() -> None:
    with BrazeSandbox(rate_limit=2, rate_window_seconds=1) as braze:
        time.sleep(1 - time.time() % 1 + 0.02)  # start just after a window boundary
        statuses = [post(braze, CAMPAIGN, campaign_body()).status_code for _ in range(3)]
        limited = post(braze, CAMPAIGN, campaign_body())
        time.sleep(max(int(limited.headers["X-RateLimit-Reset"]) - time.time(), 0) + 0.02)
        after = post(braze, CAMPAIGN, campaign_body())

    assert statuses == [201, 201, 429]
    assert limited.status_code == 429
    assert after.status_code == 201


# --- faults --------------------------------------------------------------------------------------------


def test_error_rate_answers_5xx_without_processing_or_recording() -> None:
    messages = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
    with BrazeSandbox(error_rate=1.0, seed=3) as braze:
        responses = [post(braze, CAMPAIGN, campaign_body()) for _ in range(12)]

        assert {r.status_code for r in responses} <= set(messages)
        assert len({r.status_code for r in responses}) > 1
        for response in responses:
            assert_error(response, response.status_code, messages[response.status_code])
            assert "X-RateLimit-Remaining" in response.headers
        assert braze.requests() == []
        assert [a["fault"] for a in braze.attempts()] == [str(r.status_code) for r in responses]
        assert not any(a["accepted"] for a in braze.attempts())


def test_error_statuses_restricts_the_5xx_choice(sandbox: BrazeSandbox) -> None:
    sandbox.set_faults(error_rate=1.0, error_statuses=[503])
    assert {post(sandbox, CAMPAIGN, campaign_body()).status_code for _ in range(5)} == {503}


def test_rate_limit_burst_answers_429_with_a_near_reset_then_recovers() -> None:
    clock = FakeClock(2_000_000.0)
    with BrazeSandbox(rate_limit_burst=2, burst_reset_seconds=3, clock=clock) as braze:
        bursts = [post(braze, CAMPAIGN, campaign_body()) for _ in range(2)]
        normal = post(braze, CAMPAIGN, campaign_body())

        for response in bursts:
            assert_error(response, 429, "Rate Limited")
            assert rate_headers(response) == ("250000", "0", "2000003")
        assert normal.status_code == 201
        assert [a["fault"] for a in braze.attempts()] == ["429", "429", "ok"]
        assert len(braze.requests()) == 1


def test_slow_response_times_out_the_client_but_the_request_was_accepted(sandbox: BrazeSandbox) -> None:
    sandbox.set_faults(slow_rate=1.0, slow_seconds=0.6)

    with pytest.raises(requests.exceptions.ReadTimeout):
        post(sandbox, CAMPAIGN, campaign_body(), timeout=0.2)
    assert [(r["fault"], r["status"]) for r in sandbox.requests()] == [("slow", 201)]

    started = time.monotonic()
    patient = post(sandbox, CAMPAIGN, campaign_body(), timeout=5)
    assert patient.status_code == 201
    assert time.monotonic() - started >= 0.6
    assert len(sandbox.requests()) == 2


def test_reset_before_processing_raises_connection_error_and_records_nothing(sandbox: BrazeSandbox) -> None:
    sandbox.set_faults(reset_before_rate=1.0)

    with pytest.raises(requests.exceptions.ConnectionError):
        post(sandbox, CAMPAIGN, campaign_body())
    assert sandbox.requests() == []
    assert [(a["status"], a["fault"], a["accepted"]) for a in sandbox.attempts()] == [(None, "reset_before", False)]


def test_reset_after_processing_raises_connection_error_but_the_request_was_accepted(sandbox: BrazeSandbox) -> None:
    sandbox.set_faults(reset_after_rate=1.0)

    with pytest.raises(requests.exceptions.ConnectionError):
        post(sandbox, CAMPAIGN, campaign_body())
    (record,) = sandbox.requests()
    assert (record["fault"], record["status"]) == ("reset_after", 201)
    assert [(a["status"], a["accepted"], a["dispatch_id"]) for a in sandbox.attempts()] == [
        (None, True, record["dispatch_id"])
    ]


def outcome_of(call: Any) -> int | str:
    try:
        return call().status_code
    except requests.exceptions.ReadTimeout:
        return "timeout"
    except requests.exceptions.ConnectionError:
        return "reset"


def test_script_applies_named_faults_in_order_before_random_rates(sandbox: BrazeSandbox) -> None:
    sandbox.set_faults(script=["500", "429", "slow", "reset_after", "ok", "reset_before", "502"], slow_seconds=0.4)
    assert sandbox.faults["script"] == ["500", "429", "slow", "reset_after", "ok", "reset_before", "502"]

    outcomes = [outcome_of(lambda: post(sandbox, CAMPAIGN, campaign_body(), timeout=0.2)) for _ in range(8)]

    assert outcomes == [500, 429, "timeout", "reset", 201, "reset", 502, 201]
    assert [a["fault"] for a in sandbox.attempts()] == [
        "500",
        "429",
        "slow",
        "reset_after",
        "ok",
        "reset_before",
        "502",
        "ok",
    ]
    assert [r["fault"] for r in sandbox.requests()] == ["slow", "reset_after", "ok", "ok"]
    assert sandbox.faults["script"] == []


def test_script_is_consumed_only_by_endpoint_calls(sandbox: BrazeSandbox) -> None:
    sandbox.set_faults(script=["503"])
    requests.get(sandbox.url + "/_sandbox/health", timeout=5)
    post(sandbox, "/nope", {})

    assert sandbox.faults["script"] == ["503"]
    assert post(sandbox, CAMPAIGN, campaign_body()).status_code == 503


def test_partial_fault_update_keeps_the_pending_script(sandbox: BrazeSandbox) -> None:
    sandbox.set_faults(script=["500", "502", "503"])
    post(sandbox, CAMPAIGN, campaign_body())
    settings = sandbox.set_faults(error_rate=0.25)

    assert (settings["script"], settings["error_rate"]) == (["502", "503"], 0.25)


def fault_run(seed: int) -> tuple[list[str], list[str]]:
    with BrazeSandbox(seed=seed, error_rate=0.3, reset_before_rate=0.2) as braze:
        for _ in range(30):
            outcome_of(lambda: post(braze, CAMPAIGN, campaign_body()))
        return [a["fault"] for a in braze.attempts()], [r["dispatch_id"] for r in braze.requests()]


def test_seeded_faults_and_ids_are_reproducible() -> None:
    first, second, other = fault_run(42), fault_run(42), fault_run(43)

    assert first == second
    assert set(first[0]) > {"ok", "reset_before"}
    assert first[0] != other[0]


def test_fault_options_are_validated() -> None:
    with pytest.raises(ValueError, match="error_rate must be between 0 and 1"):
        BrazeSandbox(error_rate=1.5)
    with pytest.raises(ValueError, match="must not exceed 1"):
        BrazeSandbox(error_rate=0.6, slow_rate=0.5)
    with BrazeSandbox() as braze:
        with pytest.raises(ValueError, match="unknown fault option"):
            braze.set_faults(eror_rate=0.1)
        with pytest.raises(ValueError, match="unknown script fault"):
            braze.set_faults(script=["boom"])
        with pytest.raises(ValueError, match="error_statuses"):
            braze.set_faults(error_statuses=[418])
        assert braze.faults["error_rate"] == 0.0  # nothing changed
    assert FAULT_NAMES == ("ok", "500", "502", "503", "504", "429", "slow", "reset_before", "reset_after")


# --- admin API -------------------------------------------------------------------------------------------


def test_admin_health(sandbox: BrazeSandbox) -> None:
    response = requests.get(sandbox.url + "/_sandbox/health", timeout=5)

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_admin_requests_and_attempts_match_the_python_api_and_delete_clears_both(sandbox: BrazeSandbox) -> None:
    post(sandbox, CAMPAIGN, campaign_body())
    post(sandbox, CAMPAIGN, campaign_body(), key="wrong")

    listed = requests.get(sandbox.url + "/_sandbox/requests", timeout=5).json()
    attempts = requests.get(sandbox.url + "/_sandbox/attempts", timeout=5).json()
    assert listed == sandbox.requests()
    assert listed[0]["headers"]["Authorization"] == "Bearer [REDACTED]"
    assert [(a["seq"], a["status"], a["accepted"]) for a in attempts] == [(1, 201, True), (2, 401, False)]
    assert set(attempts[0]) == {
        "seq",
        "received_at",
        "method",
        "path",
        "fault",
        "status",
        "message",
        "accepted",
        "dispatch_id",
    }

    cleared = requests.delete(sandbox.url + "/_sandbox/requests", timeout=5)
    assert (cleared.status_code, cleared.json()) == (200, {"message": "cleared"})
    assert sandbox.requests() == [] and sandbox.attempts() == []
    post(sandbox, CAMPAIGN, campaign_body())
    assert sandbox.requests()[0]["seq"] == 3  # sequence numbers keep counting after a clear


def test_admin_faults_get_post_delete(sandbox: BrazeSandbox) -> None:
    url = sandbox.url + "/_sandbox/faults"
    updated = requests.post(url, json={"error_rate": 0.5, "script": ["429"], "slow_seconds": 0.1}, timeout=5)
    current = requests.get(url, timeout=5).json()

    assert updated.status_code == 200
    assert current == updated.json()
    assert current == {
        "error_rate": 0.5,
        "error_statuses": [500, 502, 503, 504],
        "rate_limit_burst": 0,
        "burst_reset_seconds": 5.0,
        "slow_rate": 0.0,
        "slow_seconds": 0.1,
        "reset_before_rate": 0.0,
        "reset_after_rate": 0.0,
        "script": ["429"],
    }
    assert post(sandbox, CAMPAIGN, campaign_body()).status_code == 429
    cleared = requests.delete(url, timeout=5).json()
    assert (cleared["error_rate"], cleared["script"]) == (0.0, [])
    assert post(sandbox, CAMPAIGN, campaign_body()).status_code == 201


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "Expecting property name"),
        (b"[1]", "must be a JSON object"),
        (b'{"eror_rate": 1}', "unknown fault option"),
        (b'{"slow_rate": "high"}', "slow_rate must be a number"),
        (b'{"script": "500"}', "script must be a list"),
    ],
)
def test_admin_faults_rejects_bad_input(sandbox: BrazeSandbox, body: bytes, message: str) -> None:
    response = requests.post(sandbox.url + "/_sandbox/faults", data=body, timeout=5)

    assert response.status_code == 400
    assert message in response.json()["message"]


def test_admin_reset_restores_the_constructed_state() -> None:
    clock = FakeClock(3_000_000.0)
    with BrazeSandbox(rate_limit=1, rate_window_seconds=60, script=["503"], seed=5, clock=clock) as braze:
        first = [post(braze, CAMPAIGN, campaign_body()).status_code for _ in range(3)]
        reset = requests.post(braze.url + "/_sandbox/reset", timeout=5)
        again = [post(braze, CAMPAIGN, campaign_body()).status_code for _ in range(3)]

        assert (reset.status_code, reset.json()) == (200, {"message": "reset"})
        assert first == again == [503, 201, 429]
        assert [a["seq"] for a in braze.attempts()] == [1, 2, 3]


def test_admin_endpoints_need_no_key_and_are_not_attempts(sandbox: BrazeSandbox) -> None:
    for path in ("/_sandbox/health", "/_sandbox/requests", "/_sandbox/attempts", "/_sandbox/faults"):
        assert requests.get(sandbox.url + path, timeout=5).status_code == 200
    assert sandbox.attempts() == []


# --- robustness against garbage input ----------------------------------------------------------------------


def raw_post(path: str, body: bytes, *extra_headers: str) -> bytes:
    head = [
        f"POST {path} HTTP/1.1",
        "Host: sandbox",
        f"Authorization: Bearer {DEFAULT_API_KEY}",
        "Content-Type: application/json",
        "Connection: close",
        *extra_headers,
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def test_chunked_body_is_decoded(sandbox: BrazeSandbox) -> None:
    payload = json.dumps(campaign_body()).encode()
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (payload[:10], payload[10:])) + b"0\r\n\r\n"
    status, _, body = raw_http(sandbox, raw_post(CAMPAIGN, chunked, "Transfer-Encoding: chunked"))

    assert status == 201
    assert sandbox.requests()[0]["body"] == campaign_body()


@pytest.mark.parametrize(
    ("extra_header", "body", "status", "message"),
    [
        ("Transfer-Encoding: chunked", b"zz\r\n{}\r\n0\r\n\r\n", 400, "Malformed request body framing"),
        ("Transfer-Encoding: chunked", b"5\r\n{}\r\n0\r\n\r\n", 400, "Malformed request body framing"),
        ("Transfer-Encoding: chunked", b"500001\r\n", 413, "Payload Too Large"),
        ("Transfer-Encoding: gzip", b"{}", 400, "Unsupported Transfer-Encoding"),
        ("Content-Length: abc", b"{}", 400, "Malformed request body framing"),
        ("Content-Length: -1", b"{}", 400, "Malformed request body framing"),
        ("Content-Length: 99999999999", b"{}", 413, "Payload Too Large"),
        ("X-Nothing: 1", b"", 400, INVALID_JSON),  # no Content-Length: an empty body
        ("Content-Length: 2", b"\xff\xff", 400, INVALID_JSON),
    ],
)
def test_bad_framing_or_encoding_gets_4xx(
    sandbox: BrazeSandbox, extra_header: str, body: bytes, status: int, message: str
) -> None:
    got_status, headers, got_body = raw_http(sandbox, raw_post(CAMPAIGN, body, extra_header))

    assert (got_status, json.loads(got_body)) == (status, {"message": message})
    assert headers["content-type"] == "application/json"
    assert sandbox.requests() == []


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"HELLO\r\n\r\n", 400),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(150)) + b"\r\n", 431),
        (b"GET / HTTP/9.9\r\n\r\n", 505),
    ],
)
def test_unparseable_requests_get_json_4xx_and_the_server_survives(
    sandbox: BrazeSandbox, request_bytes: bytes, status: int
) -> None:
    got_status, headers, body = raw_http(sandbox, request_bytes)

    assert got_status == status
    assert headers["content-type"] == "application/json"
    assert isinstance(json.loads(body)["message"], str)
    assert [a["status"] for a in sandbox.attempts()] == [status]
    assert requests.get(sandbox.url + "/_sandbox/health", timeout=5).status_code == 200


def test_header_names_are_case_insensitive(sandbox: BrazeSandbox) -> None:
    payload = json.dumps(campaign_body()).encode()
    request = (
        f"POST {CAMPAIGN} HTTP/1.1\r\nhost: s\r\nauthorization: Bearer {DEFAULT_API_KEY}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(payload)}\r\nconnection: close\r\n\r\n"
    ).encode() + payload

    status, _, _ = raw_http(sandbox, request)

    assert status == 201
    assert sandbox.requests()[0]["headers"]["authorization"] == "Bearer [REDACTED]"


def test_keep_alive_serves_several_requests_on_one_connection(sandbox: BrazeSandbox) -> None:
    payload = json.dumps(campaign_body()).encode()
    one = (
        f"POST {CAMPAIGN} HTTP/1.1\r\nHost: s\r\nAuthorization: Bearer {DEFAULT_API_KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=5) as sock:
        stream = sock.makefile("rb")
        statuses = []
        for _ in range(3):
            sock.sendall(one)
            statuses.append(read_response(stream)[0])

    assert statuses == [201, 201, 201]
    assert len(sandbox.requests()) == 3 == sandbox.request_count()
    sandbox.clear()
    assert sandbox.request_count() == 0


# --- concurrency ------------------------------------------------------------------------------------------


def test_concurrent_requests_are_each_recorded_exactly_once(sandbox: BrazeSandbox) -> None:
    errors: list[BaseException] = []

    def client(thread: int) -> None:
        try:
            with requests.Session() as session:
                session.headers["Authorization"] = f"Bearer {DEFAULT_API_KEY}"
                for i in range(10):
                    body = campaign_body(trigger_properties={"thread": thread, "i": i})
                    response = session.post(sandbox.url + CAMPAIGN, json=body, timeout=10)
                    assert response.status_code == 201
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(t,)) for t in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    records = sandbox.requests()
    markers = sorted((r["body"]["trigger_properties"]["thread"], r["body"]["trigger_properties"]["i"]) for r in records)
    assert markers == [(t, i) for t in range(20) for i in range(10)]
    assert sorted(r["seq"] for r in records) == list(range(1, 201))
    assert len({r["dispatch_id"] for r in records}) == 200
    assert len(sandbox.attempts()) == 200


# --- lifecycle and CLI -------------------------------------------------------------------------------------


def test_lifecycle_start_stop_and_context_manager() -> None:
    braze = BrazeSandbox()
    with pytest.raises(RuntimeError, match="start"):
        _ = braze.url
    assert braze.start() is braze.start()  # idempotent
    url = braze.url
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
    braze.stop()
    braze.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(url + "/_sandbox/health", timeout=2)


def test_stop_does_not_wait_for_slow_responses() -> None:
    braze = BrazeSandbox(slow_rate=1.0, slow_seconds=30).start()
    worker = threading.Thread(target=lambda: outcome_of(lambda: post(braze, CAMPAIGN, campaign_body())))
    worker.start()
    time.sleep(0.2)

    started = time.monotonic()
    braze.stop()
    worker.join(timeout=5)

    assert time.monotonic() - started < 1.0
    assert not worker.is_alive()
    assert len(braze.requests()) == 1  # accepted before the (never sent) answer


def test_cli_arguments_and_api_key_parsing() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    add_cli_arguments(parser)
    defaults = parser.parse_args([])
    custom = parser.parse_args(
        [
            "--port",
            "0",
            "--api-key",
            "k1",
            "--api-key",
            "k2:canvas.trigger.send",
            "--error-rate",
            "0.1",
            "--seed",
            "9",
            "--rate-window",
            "60",
        ]
    )

    assert (defaults.host, defaults.port, defaults.api_key, defaults.rate_limit, defaults.rate_window) == (
        "127.0.0.1",
        4010,
        None,
        250_000,
        3600,
    )
    assert (defaults.slow_seconds, defaults.seed, defaults.verbose) == (2.0, None, False)
    assert (custom.port, custom.error_rate, custom.seed, custom.rate_window) == (0, 0.1, 9, 60.0)
    assert parse_api_keys(custom.api_key) == {"k1": BOTH, "k2": {"canvas.trigger.send"}}
    assert parse_api_keys(None) is None


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_python_dash_m_serves_until_ctrl_c_or_sigterm_and_exits_0(stop_signal: signal.Signals) -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    command = [
        sys.executable,
        "-m",
        "braze.sandbox",
        "--port",
        "0",
        "--api-key",
        "k1",
        "--api-key",
        "k2:canvas.trigger.send",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = process.stdout.readline()
        match = re.fullmatch(r"Braze sandbox listening on (http://127\.0\.0\.1:\d+)\n", line)
        assert match, line
        url = match.group(1)
        headers = {"Authorization": "Bearer k2"}
        assert requests.post(url + CAMPAIGN, json=campaign_body(), headers=headers, timeout=5).status_code == 403
        assert requests.post(url + CANVAS, json=canvas_body(), headers=headers, timeout=5).status_code == 201

        process.send_signal(stop_signal)
        assert process.wait(timeout=5) == 0
        assert process.stdout.read() == "Braze sandbox stopped\n"
        assert process.stderr.read() == ""  # quiet: no per-request logging, no traceback
    finally:
        process.kill()
        process.wait()


def test_public_names_are_exported() -> None:
    import braze.sandbox as sandbox_module

    assert sorted(sandbox_module.__all__) == sorted(
        [
            "BrazeSandbox",
            "DEFAULT_API_KEY",
            "DEFAULT_REJECT_PREFIX",
            "FAULT_NAMES",
            "Faults",
            "MAX_BODY_BYTES",
            "SERVER_ERROR_STATUSES",
            "add_cli_arguments",
            "parse_api_keys",
            "run_from_args",
        ]
    )
    for name in sandbox_module.__all__:
        assert getattr(sandbox_module, name) is not None
