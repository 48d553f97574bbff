"""Preset-specific behaviour: secret handling, URL signing, option validation."""

from __future__ import annotations

import pytest
from sources_testkit import (
    CASES,
    ED25519_PRIVATE,
    ED25519_PUBLIC,
    NOW,
    PUBLIC_URL,
    make_request,
    reason_of,
    signed,
    tamper,
)

from sources.exceptions import PresetOptionsError, SignatureError
from sources.presets import PRESET_NAMES, get_preset
from sources.request import WebhookRequest


def test_stripe_ignores_v0_and_other_schemes():
    case = CASES["stripe"]
    value = signed(case)["Stripe-Signature"]
    stamp, v1 = value.split(",")
    headers = {"Stripe-Signature": f"{stamp},v0=deadbeef,{v1},v9=abc"}
    get_preset("stripe").verify(make_request(case, headers), case.secrets, now=NOW)
    only_v0 = {"Stripe-Signature": f"{stamp},v0={v1[3:]}"}
    assert reason_of("stripe", make_request(case, only_v0), case.secrets, now=NOW) == "malformed_signature"


def test_stripe_whsec_secret_is_used_verbatim_not_decoded():
    case = CASES["stripe"]
    headers = get_preset("stripe").sign(case.body, "whsec_dGVzdA==", timestamp=NOW)
    get_preset("stripe").verify(make_request(case, headers), ["whsec_dGVzdA=="], now=NOW)
    assert reason_of("stripe", make_request(case, headers), ["test"], now=NOW) == "bad_signature"


def test_standard_webhooks_ed25519_v1a():
    case = CASES["standard-webhooks"]
    headers = get_preset("standard-webhooks").sign(case.body, ED25519_PRIVATE, timestamp=NOW, event_id="msg_ed")
    assert headers["webhook-signature"].startswith("v1a,")
    request = make_request(case, headers)
    get_preset("standard-webhooks").verify(request, [ED25519_PUBLIC], now=NOW)
    # A symmetric secret cannot check an asymmetric signature, and vice versa.
    assert reason_of("standard-webhooks", request, [case.secret], now=NOW) == "bad_signature"
    hmac_request = make_request(case, signed(case))
    assert reason_of("standard-webhooks", hmac_request, [ED25519_PUBLIC], now=NOW) == "bad_signature"
    # Mixed rotation list: the HMAC secret and the public key side by side.
    get_preset("standard-webhooks").verify(hmac_request, [ED25519_PUBLIC, case.secret], now=NOW)
    tampered = make_request(case, headers, body=tamper(case.body))
    assert reason_of("standard-webhooks", tampered, [ED25519_PUBLIC], now=NOW) == "bad_signature"


def test_standard_webhooks_unusable_secret_is_no_secret():
    case = CASES["standard-webhooks"]
    assert reason_of("standard-webhooks", make_request(case, signed(case)), ["whsec_!!!", "whpk_abc"], now=NOW) == (
        "no_secret"
    )


def test_standard_webhooks_id_is_signed():
    case = CASES["standard-webhooks"]
    headers = {**signed(case, event_id="msg_original"), "webhook-id": "msg_other"}
    assert reason_of("standard-webhooks", make_request(case, headers), case.secrets, now=NOW) == "bad_signature"
    headers.pop("webhook-id")
    assert reason_of("standard-webhooks", make_request(case, headers), case.secrets, now=NOW) == "missing_signature"


def test_twitch_message_id_is_signed():
    case = CASES["twitch"]
    headers = {**signed(case, event_id="id-1"), "Twitch-Eventsub-Message-Id": "id-2"}
    assert reason_of("twitch", make_request(case, headers), case.secrets, now=NOW) == "bad_signature"


def test_sendgrid_unusable_public_key_is_no_secret():
    case = CASES["sendgrid"]
    assert reason_of("sendgrid", make_request(case, signed(case)), ["not-a-key"], now=NOW) == "no_secret"


def test_url_presets_use_the_rule_url_over_the_request_url():
    for name in ("twilio", "square", "hubspot"):
        case = CASES[name]
        internal = WebhookRequest.from_dict(
            {"Content-Type": case.content_type, **signed(case)},
            case.body,
            url="https://abc123.execute-api.us-east-1.amazonaws.com/prod/webhooks/provider?source=test",
        )
        get_preset(name).verify(internal, case.secrets, options={"url": PUBLIC_URL}, now=NOW)
        with pytest.raises(SignatureError) as err:
            get_preset(name).verify(internal, case.secrets, now=NOW)
        assert err.value.reason == "bad_signature", name


def test_hubspot_v3_decodes_documented_escapes_in_the_uri():
    case = CASES["hubspot"]
    decoded = "https://hooks.example.com/webhooks/hubspot?cb=https://x.example/a:b@c"
    headers = get_preset("hubspot").sign(case.body, case.secret, timestamp=NOW, url=decoded)
    encoded = "https://hooks.example.com/webhooks/hubspot?cb=https%3A%2F%2Fx.example%2Fa%3Ab%40c"
    request = WebhookRequest.from_dict(headers, case.body, url=encoded)
    get_preset("hubspot").verify(request, case.secrets, now=NOW)


def test_hubspot_timestamp_is_milliseconds():
    headers = get_preset("hubspot").sign(b"[]", "k", timestamp=NOW, url=PUBLIC_URL)
    assert headers["X-HubSpot-Request-Timestamp"] == str(NOW * 1000)


def test_twilio_json_body_is_bound_by_body_sha256():
    import hashlib

    body = b'{"property": "value"}'
    url = f"{PUBLIC_URL}&bodySHA256={hashlib.sha256(body).hexdigest()}"
    headers = get_preset("twilio").sign(body, "token", url=url)
    get_preset("twilio").verify(WebhookRequest.from_dict(headers, body, url=url), ["token"])
    # The HMAC covers only the URL, so a swapped body is caught by the hash alone.
    with pytest.raises(SignatureError) as err:
        get_preset("twilio").verify(WebhookRequest.from_dict(headers, b'{"property": "evil"}', url=url), ["token"])
    assert err.value.reason == "bad_signature"


def test_twilio_repeated_params_sorted_by_value():
    headers = get_preset("twilio").sign(b"A=2&A=1&B=x", "token", url=PUBLIC_URL)
    reordered = WebhookRequest.from_dict(headers, b"B=x&A=1&A=2", url=PUBLIC_URL)
    get_preset("twilio").verify(reordered, ["token"])


def test_twilio_sign_needs_a_url():
    with pytest.raises(ValueError, match="url"):
        get_preset("twilio").sign(b"A=1", "token")


def test_github_ignores_legacy_sha1_header():
    case = CASES["github"]
    import hashlib
    import hmac

    legacy = "sha1=" + hmac.new(case.secret.encode(), case.body, hashlib.sha1).hexdigest()
    request = make_request(case, {"X-Hub-Signature": legacy})
    assert reason_of("github", request, case.secrets) == "missing_signature"


def test_github_accepts_upper_case_hex():
    case = CASES["github"]
    value = signed(case)["X-Hub-Signature-256"]
    get_preset("github").verify(
        make_request(case, {"X-Hub-Signature-256": "sha256=" + value[7:].upper()}), case.secrets
    )


def test_shopify_events_header_without_x_prefix():
    case = CASES["shopify"]
    value = signed(case)["X-Shopify-Hmac-Sha256"]
    get_preset("shopify").verify(make_request(case, {"Shopify-Hmac-Sha256": value}), case.secrets)


@pytest.mark.parametrize(
    ("options", "signed_text"),
    [
        ({"header": "X-Sig"}, b"BODY"),
        ({"header": "X-Sig", "algorithm": "sha1", "encoding": "base64"}, b"BODY"),
        ({"header": "X-Sig", "algorithm": "sha512", "prefix": "v1="}, b"BODY"),
        ({"header": "X-Sig", "timestamp_header": "X-Ts", "signed": "timestamp.body"}, b"%d.BODY" % NOW),
    ],
)
def test_generic_hmac_matches_an_independent_computation(options, signed_text):
    import base64
    import hashlib
    import hmac

    algorithm = options.get("algorithm", "sha256")
    raw = hmac.new(b"key", signed_text, getattr(hashlib, algorithm)).digest()
    text = base64.b64encode(raw).decode() if options.get("encoding") == "base64" else raw.hex()
    headers = {"X-Sig": options.get("prefix", "") + text, "X-Ts": str(NOW)}
    request = WebhookRequest.from_dict(headers, b"BODY")
    get_preset("hmac").verify(request, ["key"], options=options, now=NOW)
    assert get_preset("hmac").sign(b"BODY", "key", timestamp=NOW, options=options)["X-Sig"] == headers["X-Sig"]


def test_generic_hmac_timestamp_window():
    options = {"header": "X-Sig", "timestamp_header": "X-Ts", "signed": "timestamp.body"}
    headers = get_preset("hmac").sign(b"B", "key", timestamp=NOW - 1000, options=options)
    with pytest.raises(SignatureError) as err:
        get_preset("hmac").verify(WebhookRequest.from_dict(headers, b"B"), ["key"], options=options, now=NOW)
    assert err.value.reason == "stale_timestamp"


def test_none_preset_accepts_everything():
    none = get_preset("none")
    assert none.needs_secret is False and none.default_tolerance is None
    none.verify(WebhookRequest.from_dict({}, b"anything"), [])
    assert none.sign(b"x", "") == {}


@pytest.mark.parametrize("tolerance", [0, -5, True, "300", 1.5])
def test_tolerance_must_be_a_positive_int(tolerance):
    case = CASES["stripe"]
    with pytest.raises(ValueError, match="positive"):
        get_preset("stripe").verify(make_request(case, signed(case)), case.secrets, now=NOW, tolerance=tolerance)


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_check_options_empty_and_unknown(name):
    preset = get_preset(name)
    expected = [("header", "is required")] if name == "hmac" else []
    assert preset.check_options({}) == expected
    assert ("bogus", "unknown option") in preset.check_options({"bogus": 1})


@pytest.mark.parametrize(
    ("options", "problem_keys"),
    [
        ({"header": "X-Sig"}, []),
        ({"header": "X-Sig", "algorithm": "md5"}, ["algorithm"]),
        ({"header": "X-Sig", "algorithm": ["sha1"]}, ["algorithm"]),
        ({"header": "X-Sig", "encoding": "base32"}, ["encoding"]),
        ({"header": "X Sig"}, ["header"]),
        ({"header": 5}, ["header"]),
        ({"header": "X-Sig", "prefix": 1}, ["prefix"]),
        ({"header": "X-Sig", "signed": "timestamp.body"}, ["signed"]),
        ({"header": "X-Sig", "signed": "everything"}, ["signed"]),
        ({"header": "X-Sig", "signed": "timestamp.body", "timestamp_header": "X-Ts"}, []),
        ({"header": "X-Sig", "url": PUBLIC_URL}, ["url"]),
    ],
)
def test_generic_hmac_check_options(options, problem_keys):
    assert [key for key, _ in get_preset("hmac").check_options(options)] == problem_keys


@pytest.mark.parametrize("name", ["twilio", "square", "hubspot"])
def test_url_option_validation(name):
    preset = get_preset(name)
    assert preset.check_options({"url": PUBLIC_URL}) == []
    assert [k for k, _ in preset.check_options({"url": "/relative/path"})] == ["url"]
    assert [k for k, _ in preset.check_options({"url": 42})] == ["url"]
    assert [k for k, _ in preset.check_options({"url": "ftp://x.example/"})] == ["url"]


def test_hubspot_allow_legacy_must_be_bool():
    assert get_preset("hubspot").check_options({"allow_legacy": "yes"}) == [("allow_legacy", "must be true or false")]


def test_invalid_options_raise_preset_options_error_on_verify_and_sign():
    request = WebhookRequest.from_dict({}, b"x")
    with pytest.raises(PresetOptionsError) as err:
        get_preset("hmac").verify(request, ["k"], options={"algorithm": "md5"})
    assert isinstance(err.value, ValueError)
    assert err.value.problems[0] == ("header", "is required")
    with pytest.raises(PresetOptionsError):
        get_preset("stripe").sign(b"x", "k", options={"url": PUBLIC_URL})
