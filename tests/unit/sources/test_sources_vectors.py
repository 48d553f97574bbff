"""Every published and derived signature vector in tests/data/signatures, through its preset.

Each vector also runs tampered (one body byte changed) and must then fail with
``bad_signature``, so a preset that accepted anything could not pass here.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from sources_testkit import DATA, data_bytes, load_vectors, tamper, vector_params

from sources.exceptions import SignatureError
from sources.presets import get_preset
from sources.presets.standard_webhooks import parse_signature_header
from sources.request import WebhookRequest

VECTOR_FILES = sorted(p.name for p in DATA.glob("*.json"))


def _body(vector: dict[str, Any]) -> bytes:
    if vector.get("body") is not None:
        return vector["body"].encode("utf-8")
    if "body_file" in vector:
        return data_bytes(vector["body_file"].split()[0])
    return b""


def _check(preset: str, request: WebhookRequest, secrets: list[str], now: float | None, **options: Any) -> None:
    """The vector verifies, and the same request with one body byte flipped does not."""
    get_preset(preset).verify(request, secrets, options=options, now=now)
    if request.body:
        bad = WebhookRequest(request.method, request.url, request.headers, tamper(request.body))
        with pytest.raises(SignatureError) as err:
            get_preset(preset).verify(bad, secrets, options=options, now=now)
        assert err.value.reason == "bad_signature"


def _simple(preset: str, vector: dict[str, Any], *, now: float | None = None) -> None:
    request = WebhookRequest.from_dict(vector["expected_header"], _body(vector), url="https://example.com/hook")
    _check(preset, request, [vector["secret"]], now)


def test_every_vector_file_is_exercised():
    assert VECTOR_FILES == sorted(f"{name}.json" for name in TESTED_FILES)
    # 1+1+4+1+3+1+1+2+1+1+2+1+5+1+1+1 vectors, as listed in SOURCES.md
    assert sum(len(load_vectors(f)) for f in VECTOR_FILES) == 27


@pytest.mark.parametrize("vector", vector_params("calendly.json"))
def test_calendly_vectors(vector):
    _simple("calendly", vector, now=vector["timestamp"] + 1)


@pytest.mark.parametrize("vector", vector_params("github.json"))
def test_github_vectors(vector):
    _simple("github", vector)


@pytest.mark.parametrize("vector", vector_params("hubspot.json"))
def test_hubspot_vectors(vector):
    name = vector["name"]
    if name == "v3":
        headers = vector["expected_header"]
    else:
        version = "v1" if name.startswith("v1") else "v2"
        headers = {"X-HubSpot-Signature": vector["expected_signature"], "X-HubSpot-Signature-Version": version}
    request = WebhookRequest.from_dict(
        headers, _body(vector), method=vector.get("method", "POST"), url=vector.get("uri", "https://example.com/x")
    )
    if name == "v3":
        # The timestamp is in milliseconds: 15000000 ms is unix second 15000.
        _check("hubspot", request, [vector["secret"]], now=vector["timestamp"] / 1000 + 1)
        assert vector["expected_header"]["X-HubSpot-Signature-v3"] == vector["expected_signature"]
    else:
        _check("hubspot", request, [vector["secret"]], now=None, allow_legacy=True)
        # Off by default: without the option the legacy header is not even looked at.
        with pytest.raises(SignatureError) as err:
            get_preset("hubspot").verify(request, [vector["secret"]])
        assert err.value.reason == "missing_signature"


@pytest.mark.parametrize("vector", vector_params("intercom.json"))
def test_intercom_vectors(vector):
    _simple("intercom", vector)


@pytest.mark.parametrize("vector", vector_params("paddle.json"))
def test_paddle_vectors(vector):
    request = WebhookRequest.from_dict(vector["expected_header"], _body(vector))
    now = vector["timestamp"] + 1
    if "secrets" in vector:
        secrets = vector["secrets"]
        _check("paddle", request, secrets, now)
        _check("paddle", request, [secrets[vector["valid_secret_index"]]], now)
        others = [s for i, s in enumerate(secrets) if i != vector["valid_secret_index"]]
        with pytest.raises(SignatureError) as err:
            get_preset("paddle").verify(request, others, now=now)
        assert err.value.reason == "bad_signature"
    else:
        _check("paddle", request, [vector["secret"]], now)
    if "body_file" in vector:
        # The fixture file ends in "\n" but the signed body does not: never trim.
        raw = data_bytes(vector["body_file"].split()[0])
        assert raw.rstrip(b"\n") == request.body and raw != request.body
        with pytest.raises(SignatureError):
            get_preset("paddle").verify(
                WebhookRequest.from_dict(vector["expected_header"], raw), [vector["secret"]], now=now
            )


def test_paddle_escaped_unicode_is_not_reserialised():
    vector = load_vectors("paddle.json")[1]
    reserialised = json.dumps(json.loads(vector["body"]), ensure_ascii=False, separators=(",", ":"))
    assert reserialised.encode() != vector["body"].encode()
    request = WebhookRequest.from_dict(vector["expected_header"], reserialised)
    with pytest.raises(SignatureError) as err:
        get_preset("paddle").verify(request, [vector["secret"]], now=vector["timestamp"])
    assert err.value.reason == "bad_signature"


@pytest.mark.parametrize("vector", vector_params("segment.json"))
def test_segment_vectors(vector):
    _simple("segment", vector)


@pytest.mark.parametrize("vector", vector_params("sendgrid.json"))
def test_sendgrid_vectors(vector):
    request = WebhookRequest.from_dict(vector["expected_header"], _body(vector))
    assert request.body.endswith(b"\r\n")
    now = int(vector["timestamp"]) + 1
    _check("sendgrid", request, [vector["public_key"]], now)
    # The SDK test's other public key must not verify it.
    other_key = (
        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jD"
        "utdhXSJCWHw8REntlo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA=="
    )
    with pytest.raises(SignatureError) as err:
        get_preset("sendgrid").verify(request, [other_key], now=now)
    assert err.value.reason == "bad_signature"
    # Rotation: the right key anywhere in the list is enough.
    get_preset("sendgrid").verify(request, [other_key, vector["public_key"]], now=now)
    # Trimming the trailing CRLF breaks it.
    trimmed = WebhookRequest.from_dict(vector["expected_header"], request.body.rstrip())
    with pytest.raises(SignatureError):
        get_preset("sendgrid").verify(trimmed, [vector["public_key"]], now=now)


@pytest.mark.parametrize("vector", vector_params("shopify.json"))
def test_shopify_vectors(vector):
    _simple("shopify", vector)


@pytest.mark.parametrize("vector", vector_params("slack.json"))
def test_slack_vectors(vector):
    _simple("slack", vector, now=vector["timestamp"] + 1)


@pytest.mark.parametrize("vector", vector_params("square.json"))
def test_square_vectors(vector):
    request = WebhookRequest.from_dict(vector["expected_header"], _body(vector), url=vector["notification_url"])
    _check("square", request, [vector["secret"]], None)
    # The SDK test's failure cases: pretty-printed body, changed field, URL off by one character.
    pretty = json.dumps(json.loads(vector["body"]), indent=2).encode()
    changed = vector["body"].replace("2022-07-13T20:30:59", "2022-07-13T20:31:00").encode()
    for body, url in [
        (pretty, vector["notification_url"]),
        (changed, vector["notification_url"]),
        (request.body, vector["notification_url"] + "x"),
    ]:
        with pytest.raises(SignatureError) as err:
            get_preset("square").verify(
                WebhookRequest.from_dict(vector["expected_header"], body, url=url), [vector["secret"]]
            )
        assert err.value.reason == "bad_signature"


@pytest.mark.parametrize("vector", vector_params("standard-webhooks.json"))
def test_standard_webhooks_vectors(vector):
    header = vector["expected_header"]["webhook-signature"]
    if vector["secret"] is None:
        # The spec's multi-signature header: parse it, and check it is well-formed but not ours.
        assert [v for v, _ in parse_signature_header(header)] == ["v1", "v1a"]
        request = WebhookRequest.from_dict(vector["expected_header"], b"{}")
        with pytest.raises(SignatureError) as err:
            get_preset("standard-webhooks").verify(
                request, ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], now=vector["timestamp"]
            )
        assert err.value.reason == "bad_signature"
        return
    _simple("standard-webhooks", vector, now=vector["timestamp"] + 1)
    # Same vector under Svix header names, and with the secret given without its prefix.
    svix = {k.replace("webhook-", "svix-"): v for k, v in vector["expected_header"].items()}
    request = WebhookRequest.from_dict(svix, _body(vector))
    get_preset("standard-webhooks").verify(request, [vector["secret"][len("whsec_") :]], now=vector["timestamp"])
    # The libraries' test: bad entries and unknown versions around the good one still verify.
    good = header.split(",", 1)[1]
    crowded = {**vector["expected_header"], "webhook-signature": f"v1,Zm9v v2,{good} v1,{good}"}
    get_preset("standard-webhooks").verify(
        WebhookRequest.from_dict(crowded, _body(vector)), [vector["secret"]], now=vector["timestamp"]
    )
    only_v2 = {**vector["expected_header"], "webhook-signature": f"v2,{good}"}
    with pytest.raises(SignatureError) as err:
        get_preset("standard-webhooks").verify(
            WebhookRequest.from_dict(only_v2, _body(vector)), [vector["secret"]], now=vector["timestamp"]
        )
    assert err.value.reason == "malformed_signature"


@pytest.mark.parametrize("vector", vector_params("stripe.json"))
def test_stripe_vectors(vector):
    _simple("stripe", vector, now=vector["timestamp"] + 1)


def _twilio_body(vector: dict[str, Any]) -> tuple[bytes, str]:
    if "form_params" in vector:
        return urlencode(vector["form_params"]).encode(), "application/x-www-form-urlencoded"
    if "form_params_list" in vector:
        return urlencode(
            [tuple(pair) for pair in vector["form_params_list"]]
        ).encode(), "application/x-www-form-urlencoded"
    return vector["body"].encode(), "application/json"


@pytest.mark.parametrize("vector", vector_params("twilio.json"))
def test_twilio_vectors(vector):
    body, content_type = _twilio_body(vector)
    headers = {"X-Twilio-Signature": vector["expected_signature"], "Content-Type": content_type}
    request = WebhookRequest.from_dict(headers, body, url=vector["url"])
    _check("twilio", request, [vector["secret"]], None)
    # The rule's public URL wins over whatever URL Lambda saw.
    internal = WebhookRequest.from_dict(headers, body, url="https://abc123.execute-api.us-east-1.amazonaws.com/prod/x")
    get_preset("twilio").verify(internal, [vector["secret"]], options={"url": vector["url"]})
    if "body_sha256_hex" in vector:
        assert vector["url"].endswith(vector["body_sha256_hex"])


def test_twilio_default_port_either_way():
    first, with_443 = load_vectors("twilio.json")[:2]
    body, content_type = _twilio_body(first)
    # Signed with :443, delivered to the URL without it; and the reverse.
    for url, signature in [
        (first["url"], with_443["expected_signature"]),
        (with_443["url"], first["expected_signature"]),
    ]:
        request = WebhookRequest.from_dict(
            {"X-Twilio-Signature": signature, "Content-Type": content_type}, body, url=url
        )
        get_preset("twilio").verify(request, [first["secret"]])


@pytest.mark.parametrize("vector", vector_params("twitch.json"))
def test_twitch_vectors(vector):
    now = datetime.fromisoformat(vector["timestamp"]).timestamp() + 1
    _simple("twitch", vector, now=now)


@pytest.mark.parametrize("vector", vector_params("typeform.json"))
def test_typeform_vectors(vector):
    _simple("typeform", vector)


@pytest.mark.parametrize("vector", vector_params("zendesk.json"))
def test_zendesk_vectors(vector):
    _simple("zendesk", vector, now=datetime.fromisoformat(vector["timestamp"]).timestamp() + 1)


def test_zendesk_cross_check_from_vector_notes():
    secret = load_vectors("zendesk.json")[0]["secret"]
    headers = {
        "X-Zendesk-Webhook-Signature": "S/RDdU2ERmj7LHDDoWJ2onPYH+t7/f2+LTM4dL7UiLM=",
        "X-Zendesk-Webhook-Signature-Timestamp": "2021-03-25T05:09:27Z",
    }
    request = WebhookRequest.from_dict(headers, '{"event":"ticket.updated","id":123}')
    _check("zendesk", request, [secret], now=datetime.fromisoformat("2021-03-25T05:09:30+00:00").timestamp())


TESTED_FILES = [
    "calendly", "github", "hubspot", "intercom", "paddle", "segment", "sendgrid", "shopify",
    "slack", "square", "standard-webhooks", "stripe", "twilio", "twitch", "typeform", "zendesk",
]  # fmt: skip
