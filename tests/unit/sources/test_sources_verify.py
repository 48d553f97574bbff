"""Failure paths, rotation, tolerance and sign()/verify() round trips for every preset."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sources_testkit import (
    CASES,
    NOW,
    TIMESTAMPED,
    UNTIMESTAMPED,
    make_request,
    reason_of,
    signed,
    tamper,
)

from sources.exceptions import SignatureError
from sources.presets import PRESET_NAMES, get_preset
from sources.request import WebhookRequest

SIGNING = sorted(CASES)


def test_cases_cover_every_signing_preset():
    assert sorted([*CASES, "none"]) == list(PRESET_NAMES)


@pytest.mark.parametrize("name", SIGNING)
def test_sign_then_verify_round_trip(name):
    case = CASES[name]
    headers = signed(case)
    assert case.sig_header in headers
    get_preset(name).verify(make_request(case, headers), case.secrets, options=case.options, now=NOW)


@pytest.mark.parametrize("name", SIGNING)
def test_tampered_body_is_bad_signature(name):
    case = CASES[name]
    request = make_request(case, signed(case), body=tamper(case.body))
    assert reason_of(name, request, case.secrets, now=NOW) == "bad_signature"


@pytest.mark.parametrize("name", SIGNING)
def test_appended_whitespace_is_bad_signature(name):
    # Bodies are never trimmed or normalised, so one extra newline must break the signature.
    case = CASES[name]
    request = make_request(case, signed(case), body=case.body + b"\n")
    assert reason_of(name, request, case.secrets, now=NOW) == "bad_signature"


@pytest.mark.parametrize("name", SIGNING)
def test_wrong_secret_is_bad_signature(name):
    case = CASES[name]
    assert reason_of(name, make_request(case, signed(case)), [case.wrong_secret], now=NOW) == "bad_signature"


@pytest.mark.parametrize("name", SIGNING)
def test_missing_signature_header(name):
    case = CASES[name]
    headers = {k: v for k, v in signed(case).items() if k != case.sig_header}
    assert reason_of(name, make_request(case, headers), case.secrets, now=NOW) == "missing_signature"


@pytest.mark.parametrize("name", SIGNING)
def test_blank_signature_header_counts_as_missing(name):
    case = CASES[name]
    headers = {**signed(case), case.sig_header: "   "}
    assert reason_of(name, make_request(case, headers), case.secrets, now=NOW) == "missing_signature"


@pytest.mark.parametrize("name", SIGNING)
def test_malformed_signature_header(name):
    case = CASES[name]
    headers = {**signed(case), case.sig_header: case.malformed}
    assert reason_of(name, make_request(case, headers), case.secrets, now=NOW) == "malformed_signature"


@pytest.mark.parametrize("name", SIGNING)
def test_no_secret(name):
    case = CASES[name]
    request = make_request(case, signed(case))
    assert reason_of(name, request, [], now=NOW) == "no_secret"
    # An empty secret would be a key anyone can use: it never counts as configured.
    assert reason_of(name, request, [""], now=NOW) == "no_secret"


@pytest.mark.parametrize("name", SIGNING)
def test_rotation_old_and_new_secret_listed(name):
    case = CASES[name]
    request = make_request(case, signed(case))
    get_preset(name).verify(request, [case.wrong_secret, *case.secrets], options=case.options, now=NOW)
    get_preset(name).verify(request, [*case.secrets, case.wrong_secret], options=case.options, now=NOW)


@pytest.mark.parametrize("name", SIGNING)
def test_header_names_are_case_insensitive(name):
    case = CASES[name]
    upper = {k.upper(): v for k, v in signed(case).items()}
    get_preset(name).verify(make_request(case, upper), case.secrets, options=case.options, now=NOW)


@pytest.mark.parametrize("name", TIMESTAMPED)
@pytest.mark.parametrize("direction", [-1, 1], ids=["too-old", "too-far-in-future"])
def test_timestamp_outside_default_tolerance_is_stale(name, direction):
    case = CASES[name]
    window = get_preset(name).default_tolerance
    request = make_request(case, signed(case, timestamp=NOW + direction * (window + 5)))
    assert reason_of(name, request, case.secrets, now=NOW) == "stale_timestamp"
    # Just inside the window, both ways, is accepted.
    inside = make_request(case, signed(case, timestamp=NOW + direction * (window - 5)))
    get_preset(name).verify(inside, case.secrets, options=case.options, now=NOW)


@pytest.mark.parametrize("name", TIMESTAMPED)
def test_rule_tolerance_overrides_default(name):
    case = CASES[name]
    request = make_request(case, signed(case, timestamp=NOW - 60))
    get_preset(name).verify(request, case.secrets, options=case.options, now=NOW)
    assert reason_of(name, request, case.secrets, now=NOW, tolerance=30) == "stale_timestamp"
    old = make_request(case, signed(case, timestamp=NOW - 5000))
    get_preset(name).verify(old, case.secrets, options=case.options, now=NOW, tolerance=6000)


@pytest.mark.parametrize("name", TIMESTAMPED)
def test_stale_but_forged_is_reported_as_bad_signature(name):
    # The signature is checked first, so "stale" only ever describes an authentic request.
    case = CASES[name]
    request = make_request(case, signed(case, timestamp=NOW - 100_000), body=tamper(case.body))
    assert reason_of(name, request, case.secrets, now=NOW) == "bad_signature"


@pytest.mark.parametrize("name", [n for n in TIMESTAMPED if CASES[n].timestamp_header])
def test_missing_timestamp_header(name):
    case = CASES[name]
    headers = {k: v for k, v in signed(case).items() if k != case.timestamp_header}
    assert reason_of(name, make_request(case, headers), case.secrets, now=NOW) == "missing_timestamp"


@pytest.mark.parametrize("name", [n for n in TIMESTAMPED if CASES[n].timestamp_header])
def test_garbage_timestamp_is_malformed(name):
    case = CASES[name]
    headers = {**signed(case), case.timestamp_header: "yesterday"}
    assert reason_of(name, make_request(case, headers), case.secrets, now=NOW) == "malformed_signature"


@pytest.mark.parametrize(
    ("name", "value"),
    [("stripe", "v1=abcdef"), ("calendly", "v1=abcdef"), ("paddle", "h1=abcdef")],
)
def test_embedded_timestamp_missing(name, value):
    case = CASES[name]
    headers = {**signed(case), case.sig_header: value}
    assert reason_of(name, make_request(case, headers), case.secrets, now=NOW) == "missing_timestamp"


@pytest.mark.parametrize("name", UNTIMESTAMPED)
def test_schemes_without_timestamp_ignore_the_clock(name):
    case = CASES[name]
    # Generic hmac keeps a default for rules that set timestamp_header; this case sets none.
    assert get_preset(name).default_tolerance == (300 if name == "hmac" else None)
    request = make_request(case, signed(case, timestamp=1))
    get_preset(name).verify(request, case.secrets, options=case.options, now=4_000_000_000, tolerance=1)


@pytest.mark.parametrize(
    ("name", "join"),
    [
        ("stripe", lambda a, b: f"{a},{b.split(',', 1)[1]}"),
        ("calendly", lambda a, b: f"{a},{b.split(',', 1)[1]}"),
        ("paddle", lambda a, b: f"{a};{b.split(';', 1)[1]}"),
        ("standard-webhooks", lambda a, b: f"{a} {b}"),
        ("hmac", lambda a, b: f"{a}, {b}"),
    ],
)
def test_header_carrying_several_signatures(name, join):
    case = CASES[name]
    first = signed(case, secret=case.wrong_secret, event_id="msg_1")
    second = signed(case, event_id="msg_1")
    headers = {**second, case.sig_header: join(first[case.sig_header], second[case.sig_header])}
    request = make_request(case, headers)
    get_preset(name).verify(request, case.secrets, options=case.options, now=NOW)
    get_preset(name).verify(request, [case.wrong_secret], options=case.options, now=NOW)
    third = "whsec_eWV0LWFub3RoZXI=" if name == "standard-webhooks" else "yet-another"
    assert reason_of(name, request, [third], now=NOW) == "bad_signature"


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(["stripe", "github", "standard-webhooks", "paddle", "slack", "twitch", "hmac"]),
    body=st.binary(min_size=1, max_size=300),
    flip=st.integers(min_value=0),
)
def test_property_round_trip_and_any_flipped_byte_fails(name, body, flip):
    case = CASES[name]
    preset = get_preset(name)
    headers = preset.sign(body, case.secret, timestamp=NOW, options=case.options)
    preset.verify(WebhookRequest.from_dict(headers, body), case.secrets, options=case.options, now=NOW)
    index = flip % len(body)
    mutated = body[:index] + bytes([body[index] ^ 0x80]) + body[index + 1 :]
    with pytest.raises(SignatureError) as err:
        preset.verify(WebhookRequest.from_dict(headers, mutated), case.secrets, options=case.options, now=NOW)
    assert err.value.reason == "bad_signature"
