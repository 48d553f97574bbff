"""Every signature and key check compares in constant time.

Two independent checks:

* statically, `timingscan` walks the code that ships in the Lambda packages (src/sources,
  src/adapter without the local runtime, src/braze without the sandbox, src/handlers) and the Braze
  sandbox, flagging `==`/`!=`/`in`/`is`, prefix checks and dict lookups whose operands look like
  signatures, digests, secrets, tokens or API keys; what remains after the allow-list (each entry
  says why it is safe) is a finding;
* behaviourally, each preset verifies a published or derived vector from tests/data/signatures (the
  same files as /work/shared/corpus/signatures) while `hmac.compare_digest` is spied on: it must be
  called, and when it is made to answer "different" the same request must be refused, so the
  verdict really comes from it and not from an `==` elsewhere. The asymmetric schemes (SendGrid
  ECDSA, Standard Webhooks v1a Ed25519) must decide through `cryptography`'s `verify`, checked the
  same way.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from timingscan import scan_file, scan_source

from sources.exceptions import SignatureError
from sources.presets import PRESET_NAMES, generate_standard_webhooks_keypair, get_preset
from sources.request import WebhookRequest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
VECTORS = ROOT / "tests" / "data" / "signatures"
SHARED_VECTORS = Path("/work/shared/corpus/signatures")

# --- static scan ------------------------------------------------------------------------------

AREAS = {
    "sources": ["sources"],
    "adapter": ["adapter"],
    "handlers": ["handlers"],
    "braze": ["braze"],
    "braze-sandbox": ["braze/sandbox"],
}
NOT_SHIPPED = ("adapter/local/", "braze/sandbox/")  # removed from the Lambda packages (Makefile)

# (path, code) -> why it is not a timing leak
ALLOWED = {
    ("src/sources/exceptions.py", "SIGNATURE_REASONS[reason]"): "message table keyed by our own reason code",
    ("src/sources/presets/_common.py", "DIGESTS[digest]"): "hash function by algorithm name, from the rule file",
    ("src/sources/presets/generic_hmac.py", "algorithm not in DIGESTS"): "rule-file option validation",
    ("src/adapter/secrets.py", "json.loads(value)[field]"): "the JSON key named by the secret reference (config)",
    ("src/adapter/local_commands.py", "id_header not in headers"): "`send` CLI: is a header name set on its request",
    ("src/adapter/ops.py", "body in moved_bodies"): "`redrive` CLI: dead-lettered event bodies this run already moved",
    ("src/adapter/ingress.py", "fresh == secrets"): (
        "both sides are our own secrets (cached vs re-read after a bad signature); no operand comes from the "
        "request, and the outcome (rotated or not) shows anyway in whether a second verification runs"
    ),
}


def _files(area: str) -> list[Path]:
    files = []
    for folder in AREAS[area]:
        for path in sorted((SRC / folder).rglob("*.py")):
            relative = path.relative_to(SRC).as_posix()
            if area != "braze-sandbox" and relative.startswith(NOT_SHIPPED):
                continue
            files.append(path)
    return files


def _findings(area: str) -> list[str]:
    found = [f for path in _files(area) for f in scan_file(path, ROOT)]
    return [str(f) for f in found if (f.path, f.code) not in ALLOWED]


@pytest.mark.parametrize(
    "area",
    AREAS,
)
def test_no_variable_time_comparison_of_secret_material(area):
    assert _files(area)
    assert _findings(area) == []


def test_every_allow_list_entry_still_exists():
    found = {(f.path, f.code) for area in AREAS for path in _files(area) for f in scan_file(path, ROOT)}
    assert set(ALLOWED) <= found, set(ALLOWED) - found


def test_the_scanner_flags_what_it_is_meant_to_flag():
    planted = """
import hmac
def verify(request, secret, api_keys, tokens, presented):
    expected = hmac.new(secret, request.body, "sha256").hexdigest()
    if expected == request.headers["x-signature"]:        # 1 ==
        return True
    if request.headers.get("x-hub-signature") != expected:  # 2 !=
        return False
    if presented in tokens:                                 # 3 in
        return True
    if api_keys.get(presented):                              # 4 dict lookup
        return True
    if expected.startswith(presented):                       # 5 prefix
        return True
    for want in [expected]:
        for got in request.headers.values():
            if want == got:                                  # 6 == on a name bound from a digest
                return True
    return tokens[presented]                                 # 7 subscript lookup
"""
    assert sorted(f.line for f in scan_source(planted)) == [5, 7, 9, 11, 13, 17, 19]
    safe = """
import hmac
def verify(request, secret, version, signature):
    if version == "v1" and secret.startswith("whsec_") and len(signature) == 32:
        return hmac.compare_digest(signature, request.headers["x-signature"].encode())
    return signature is None
"""
    assert scan_source(safe) == []


# --- behaviour: presets decide through compare_digest / cryptography ------------------------------


def _load(name: str) -> list[dict[str, Any]]:
    return json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))["vectors"]


def _body(vector: dict[str, Any]) -> bytes:
    if vector.get("body") is not None:
        return vector["body"].encode("utf-8")
    return (VECTORS / vector["body_file"].split()[0]).read_bytes()


def _unix(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else datetime.fromisoformat(value).timestamp()


Case = tuple[WebhookRequest, list[str], dict[str, Any], float | None]


def _simple(name: str, vector: dict[str, Any]) -> Case:
    request = WebhookRequest.from_dict(vector["expected_header"], _body(vector), url="https://example.com/hook")
    now = _unix(vector["timestamp"]) + 1 if get_preset(name).default_tolerance else None
    return request, [vector["secret"]], {}, now


def _hubspot(vector: dict[str, Any]) -> Case:
    if vector["name"] == "v3":
        request = WebhookRequest.from_dict(vector["expected_header"], _body(vector), url=vector["uri"])
        return request, [vector["secret"]], {}, vector["timestamp"] / 1000 + 1
    headers = {"X-HubSpot-Signature": vector["expected_signature"], "X-HubSpot-Signature-Version": "v2"}
    request = WebhookRequest.from_dict(headers, _body(vector), method=vector["method"], url=vector["uri"])
    return request, [vector["secret"]], {"allow_legacy": True}, None


def _paddle(vector: dict[str, Any]) -> Case:
    return _simple("paddle", vector)


def _square(vector: dict[str, Any]) -> Case:
    request = WebhookRequest.from_dict(vector["expected_header"], _body(vector), url=vector["notification_url"])
    return request, [vector["secret"]], {}, None


def _twilio(vector: dict[str, Any]) -> Case:
    if "form_params" in vector:
        body, kind = urlencode(vector["form_params"]).encode(), "application/x-www-form-urlencoded"
    else:
        body, kind = vector["body"].encode(), "application/json"
    headers = {"X-Twilio-Signature": vector["expected_signature"], "Content-Type": kind}
    return WebhookRequest.from_dict(headers, body, url=vector["url"]), [vector["secret"]], {}, None


def _pick(name: str, test: Callable[[dict[str, Any]], bool] = lambda v: True) -> dict[str, Any]:
    return next(v for v in _load(name) if test(v))


# One vector per HMAC preset (and the legacy/URL-hash paths that call compare_digest directly).
HMAC_CASES: dict[str, Callable[[], Case]] = {
    "calendly": lambda: _simple("calendly", _pick("calendly")),
    "github": lambda: _simple("github", _pick("github")),
    "hubspot v3": lambda: _hubspot(_pick("hubspot", lambda v: v["name"] == "v3")),
    "hubspot legacy v2": lambda: _hubspot(_pick("hubspot", lambda v: v["name"] == "v2 POST")),
    "intercom": lambda: _simple("intercom", _pick("intercom")),
    "paddle": lambda: _paddle(_pick("paddle", lambda v: "secret" in v)),
    "segment": lambda: _simple("segment", _pick("segment")),
    "shopify": lambda: _simple("shopify", _pick("shopify")),
    "slack": lambda: _simple("slack", _pick("slack")),
    "square": lambda: _square(_pick("square")),
    "standard-webhooks v1": lambda: _simple("standard-webhooks", _pick("standard-webhooks", lambda v: v["secret"])),
    "stripe": lambda: _simple("stripe", _pick("stripe")),
    "twilio form": lambda: _twilio(_pick("twilio", lambda v: "form_params" in v)),
    "twilio bodySHA256": lambda: _twilio(_pick("twilio", lambda v: "body_sha256_hex" in v)),
    "twitch": lambda: _simple("twitch", _pick("twitch")),
    "typeform": lambda: _simple("typeform", _pick("typeform")),
    "zendesk": lambda: _simple("zendesk", _pick("zendesk")),
}


def _signed(name: str, options: dict[str, Any]) -> Callable[[], Case]:
    """Presets without a published vector: sign, then verify (the signing side is tested elsewhere)."""

    def case() -> Case:
        body = b'{"id":"evt_ct_1","type":"thing.happened"}'
        headers = get_preset(name).sign(body, "ct-secret-0123456789", timestamp=1_750_000_000, options=options)
        request = WebhookRequest.from_dict({"Content-Type": "application/json", **headers}, body)
        return request, ["ct-secret-0123456789"], options, 1_750_000_001

    return case


HMAC_CASES["lemonsqueezy"] = _signed("lemonsqueezy", {})
HMAC_CASES["hmac"] = _signed("hmac", {"header": "X-Signature", "prefix": "sha256=", "timestamp_header": "X-Ts"})
PRESET_OF = {case: case.split()[0] for case in HMAC_CASES}
ASYMMETRIC = {"sendgrid", "standard-webhooks"}  # standard-webhooks also has v1a (Ed25519)


def test_every_preset_is_covered():
    covered = set(PRESET_OF.values()) | ASYMMETRIC | {"none"}
    assert covered == set(PRESET_NAMES)


def test_the_corpus_copies_are_the_vectors_used_here():
    if not SHARED_VECTORS.is_dir():
        pytest.skip("no shared corpus on this machine")
    for path in SHARED_VECTORS.glob("*.json"):
        assert path.read_bytes() == (VECTORS / path.name).read_bytes(), path.name


class _Spy:
    def __init__(self, verdict: bool | None = None) -> None:
        self.calls = 0
        self.verdict = verdict  # None: the real answer

    def __call__(self, a: Any, b: Any) -> bool:
        self.calls += 1
        real = _REAL_COMPARE(a, b)
        return real if self.verdict is None else self.verdict


_REAL_COMPARE = hmac.compare_digest


@pytest.mark.parametrize("case", sorted(HMAC_CASES))
def test_hmac_presets_decide_through_compare_digest(case, monkeypatch):
    request, secrets, options, now = HMAC_CASES[case]()
    preset = get_preset(PRESET_OF[case])
    spy = _Spy()
    monkeypatch.setattr(hmac, "compare_digest", spy)
    preset.verify(request, secrets, options=options, now=now)
    assert spy.calls >= 1
    # The same authentic request, with compare_digest saying "different": it must now be refused.
    monkeypatch.setattr(hmac, "compare_digest", _Spy(verdict=False))
    with pytest.raises(SignatureError) as refused:
        preset.verify(request, secrets, options=options, now=now)
    assert refused.value.reason == "bad_signature"


class _RecordingKey:
    """Wraps a cryptography public key; `fail=True` makes verify raise as for a forged signature."""

    def __init__(self, key: Any, log: list[str], fail: bool) -> None:
        self.key, self.log, self.fail = key, log, fail

    def verify(self, *args: Any) -> None:
        self.log.append("verify")
        if self.fail:
            from cryptography.exceptions import InvalidSignature

            raise InvalidSignature()
        self.key.verify(*args)


@pytest.mark.parametrize("fail", [False, True], ids=["genuine", "verify-refuses"])
def test_sendgrid_decides_through_cryptography_verify(fail, monkeypatch):
    import sources.presets.sendgrid as sendgrid

    vector = _load("sendgrid")[0]
    request = WebhookRequest.from_dict(vector["expected_header"], _body(vector))
    log: list[str] = []
    real = sendgrid._load_public_key
    monkeypatch.setattr(sendgrid, "_load_public_key", lambda secret: _RecordingKey(real(secret), log, fail))
    spy = _Spy()
    monkeypatch.setattr(hmac, "compare_digest", spy)
    verify = lambda: get_preset("sendgrid").verify(request, [vector["public_key"]], now=int(vector["timestamp"]) + 1)  # noqa: E731
    if fail:
        with pytest.raises(SignatureError, match="does not match"):
            verify()
    else:
        verify()
    assert log == ["verify"] and spy.calls == 0


@pytest.mark.parametrize("fail", [False, True], ids=["genuine", "verify-refuses"])
def test_standard_webhooks_v1a_decides_through_cryptography_verify(fail, monkeypatch):
    from cryptography.hazmat.primitives.asymmetric import ed25519

    private, public = generate_standard_webhooks_keypair()
    body = b'{"type":"user.created"}'
    headers = get_preset("standard-webhooks").sign(body, private, timestamp=1_750_000_000, event_id="msg_ct")
    request = WebhookRequest.from_dict(headers, body)
    log: list[str] = []
    real = ed25519.Ed25519PublicKey

    class Recording:
        @staticmethod
        def from_public_bytes(raw: bytes) -> _RecordingKey:
            return _RecordingKey(real.from_public_bytes(raw), log, fail)

    monkeypatch.setattr(ed25519, "Ed25519PublicKey", Recording)
    verify = lambda: get_preset("standard-webhooks").verify(request, [public], now=1_750_000_001)  # noqa: E731
    if fail:
        with pytest.raises(SignatureError, match="does not match"):
            verify()
    else:
        verify()
    assert log == ["verify"]


# --- admin surfaces ---------------------------------------------------------------------------


def test_no_admin_token_exists_and_the_unauthenticated_admin_surfaces_bind_to_loopback():
    """Nothing to compare: the sandbox's /_sandbox/* admin API and the local gateway take no token.

    That is only acceptable while they listen on loopback, which is their default.
    """
    import inspect

    from adapter.local.gateway import LocalGateway
    from braze.sandbox import BrazeSandbox, add_cli_arguments

    assert inspect.signature(BrazeSandbox).parameters["host"].default == "127.0.0.1"
    assert inspect.signature(LocalGateway).parameters["host"].default == "127.0.0.1"
    import argparse

    parser = argparse.ArgumentParser()
    add_cli_arguments(parser)
    assert parser.parse_args([]).host == "127.0.0.1"
    shipped = [p for area in AREAS if area != "braze-sandbox" for p in _files(area)]
    assert not [p for p in shipped if "admin" in p.read_text(encoding="utf-8").lower()]
