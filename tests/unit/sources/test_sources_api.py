"""Public surface, import cost, WebhookRequest, and what errors may (not) say."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sources_testkit import CASES, NOW, make_request, signed, tamper

import sources
from sources.exceptions import SIGNATURE_REASONS, BodyError, SignatureError, UnknownPresetError
from sources.presets import PRESET_NAMES, Preset, get_preset
from sources.request import WebhookRequest

SRC = Path(sources.__file__).resolve().parents[1]


def test_preset_names_exact_and_sorted():
    assert PRESET_NAMES == (
        "calendly", "github", "hmac", "hubspot", "intercom", "lemonsqueezy", "none", "paddle", "segment",
        "sendgrid", "shopify", "slack", "square", "standard-webhooks", "stripe", "twilio", "twitch",
        "typeform", "zendesk",
    )  # fmt: skip
    assert list(PRESET_NAMES) == sorted(PRESET_NAMES)


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_every_preset_has_the_contract(name):
    preset = get_preset(name)
    assert isinstance(preset, Preset) and preset.name == name
    assert preset.needs_secret is (name != "none")
    assert preset.default_tolerance is None or (
        isinstance(preset.default_tolerance, int) and preset.default_tolerance > 0
    )
    verify = inspect.signature(preset.verify)
    assert list(verify.parameters) == ["request", "secrets", "options", "tolerance", "now"]
    assert all(verify.parameters[p].kind is inspect.Parameter.KEYWORD_ONLY for p in ("options", "tolerance", "now"))
    sign = inspect.signature(preset.sign)
    assert list(sign.parameters) == ["body", "secret", "timestamp", "url", "event_id", "options"]


def test_default_tolerances():
    tolerances = {name: get_preset(name).default_tolerance for name in PRESET_NAMES}
    assert tolerances == {
        "calendly": 180, "github": None, "hmac": 300, "hubspot": 300, "intercom": None, "lemonsqueezy": None,
        "none": None, "paddle": 300, "segment": None, "sendgrid": 300, "shopify": None, "slack": 300,
        "square": None, "standard-webhooks": 300, "stripe": 300, "twilio": None, "twitch": 600,
        "typeform": None, "zendesk": 300,
    }  # fmt: skip


def test_unknown_preset():
    with pytest.raises(UnknownPresetError) as err:
        get_preset("mailchimp")
    assert isinstance(err.value, KeyError)
    assert str(err.value).startswith("unknown verification preset 'mailchimp'; known presets: calendly, github")
    with pytest.raises(KeyError):
        get_preset(None)  # type: ignore[arg-type]


def test_package_reexports():
    for name in sources.__all__:
        assert getattr(sources, name) is not None
    assert sources.get_preset is get_preset


def test_import_is_stdlib_only():
    # The ingress Lambda imports sources on cold start: no third-party module may load.
    code = (
        "import sys, sources, sources.presets, sources.body, sources.request;"
        "top = {m.split('.')[0] for m in sys.modules};"
        "third = sorted(top - set(sys.stdlib_module_names) - {'sources', '__main__'});"
        "print(','.join(m for m in third if not m.startswith('_')))"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == ""


def test_signature_error_reasons():
    assert set(SIGNATURE_REASONS) == {
        "missing_signature", "malformed_signature", "bad_signature",
        "missing_timestamp", "stale_timestamp", "no_secret",
    }  # fmt: skip
    err = SignatureError("bad_signature")
    assert err.reason == "bad_signature" and str(err) == "No signature matches any configured secret"
    with pytest.raises(ValueError):
        SignatureError("oops")


def test_body_error_carries_status():
    err = BodyError(415, "unsupported content type 'text/xml'")
    assert err.status == 415 and str(err) == "unsupported content type 'text/xml'"


def _failures(name):
    """Every failure path of one preset: (label, request, secrets, kwargs)."""
    case = CASES[name]
    headers = signed(case)
    sig = headers[case.sig_header]
    out = [
        ("tampered", make_request(case, headers, body=tamper(case.body)), case.secrets, {}),
        ("wrong secret", make_request(case, headers), [case.wrong_secret], {}),
        ("malformed", make_request(case, {**headers, case.sig_header: case.malformed}), case.secrets, {}),
        ("missing", make_request(case, {k: v for k, v in headers.items() if k != case.sig_header}), case.secrets, {}),
    ]
    if case.timestamped:
        out.append(("stale", make_request(case, signed(case, timestamp=NOW - 10_000)), case.secrets, {}))
    return sig, out


@pytest.mark.parametrize("name", sorted(CASES))
def test_errors_never_contain_secret_signature_or_body(name):
    case = CASES[name]
    signature, failures = _failures(name)
    sig_value = signature.rstrip("=")[-16:]  # the tail of the encoded digest itself
    assert len(sig_value) == 16
    assert len(failures) >= 4
    for label, request, secrets, kwargs in failures:
        with pytest.raises(SignatureError) as err:
            get_preset(name).verify(request, secrets, options=case.options, now=NOW, **kwargs)
        texts = [str(err.value), repr(err.value), *map(str, err.value.args)]
        for text in texts:
            for secret in [*secrets, case.secret, case.wrong_secret]:
                assert secret not in text, (label, text)
                assert secret[8:24] not in text, (label, text)  # not even a slice of a PEM or whsec_ key
            assert sig_value not in text, (label, text)
            assert case.body.decode("utf-8", "replace")[2:20] not in text, (label, text)
            assert case.malformed not in text, (label, text)


def test_webhook_request_lowercases_and_is_frozen():
    request = WebhookRequest.from_dict(
        {"Content-Type": "application/json", "X-Thing": "1"}, "é", method="post", url="u"
    )
    assert dict(request.headers) == {"content-type": "application/json", "x-thing": "1"}
    assert request.header("X-THING") == "1" and request.header("absent") is None
    assert request.content_type == "application/json"
    assert request.body == "é".encode() and request.method == "POST"
    with pytest.raises(AttributeError):
        request.body = b""  # type: ignore[misc]
    with pytest.raises(TypeError):
        request.headers["x"] = "y"  # type: ignore[index]


def test_webhook_request_direct_construction_also_normalises():
    request = WebhookRequest("POST", "https://x/", {"Stripe-Signature": "a", "stripe-signature": "b"}, b"{}")
    assert request.header("stripe-signature") == "a, b"
    with pytest.raises(TypeError):
        WebhookRequest("POST", "u", {}, "text body")  # type: ignore[arg-type]


def test_secrets_given_as_a_bare_string_are_one_secret():
    case = CASES["github"]
    get_preset("github").verify(make_request(case, signed(case)), case.secret)  # type: ignore[arg-type]
