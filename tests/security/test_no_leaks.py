"""No secret, credential, signature or raw e-mail address in the logs or the archive.

The e2e suite's kind of traffic (signed webhooks from several providers, duplicates, a 5xx and
429 episode, bad signatures, a Braze 4xx that dead-letters, a Braze per-recipient rejection of an
e-mail address) runs once through the whole local stack (moto, gateway, ingress, queue poller,
dispatch, a Braze sandbox), with every log channel the handlers have captured at the most verbose
level an operator can switch on without a code change:

* the Powertools logger (`adapter.observability.logger`) at DEBUG (`POWERTOOLS_LOG_LEVEL=DEBUG`),
  with the incoming event logged (`POWERTOOLS_LOGGER_LOG_EVENT=true`; Powertools reads it when the
  handler module is imported, so the handlers are re-decorated with `log_event=True` here);
* Powertools' own package logger at DEBUG (`POWERTOOLS_DEBUG`);
* our stdlib loggers (`adapter`, `braze`, `mapping`, `sources`, `handlers`) at DEBUG, and every
  other logger (botocore, urllib3, ...) at the root level Lambda gives them (WARNING), through a
  root handler that, like Lambda's, gets Powertools' duplicate filter;
* stdout and stderr (EMF metric lines are on: `POWERTOOLS_METRICS_DISABLED=false`) and warnings.

The moto server runs in its own process and is not part of the product, so its output is not read.

What must not appear in those logs: the webhook signing secrets (`stack.signing_secrets`, the
SendGrid PEM private key included), the Braze REST API key and the `Authorization` header carrying
it, the inbound `Authorization` and `Cookie` values, every signature header value sent (good and
bad, whole or any digest inside it) and every e-mail address in the payloads, verbatim.

The archive contract (src/adapter/ingress.py `_archive_and_enqueue`, src/sources/redaction.py):
an archived request keeps the raw body verbatim (`body`, or `body_base64`), because replay and
dispatch-from-archive need the exact bytes, and its headers pass through `redact_headers`. So in
each archive object: the body equals the bytes that were sent; every credential or signature header
reads `[redacted]`; outside the body nothing above appears (e-mail addresses included); and the
body itself holds no secret, credential or signature either. Rule files and every other object in
the bucket are scanned for secrets and credentials too.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from leakscan import Needles, capture_all_logs, emails_in, find_leaks

from adapter.local.stack import LocalStack, StackOptions
from braze.sandbox import BrazeSandbox, parse_api_keys
from sources.presets import get_preset
from sources.redaction import REDACTED

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
RULES = ROOT / "examples" / "rules"

BRAZE_KEY = "braze-rest-key-SEC-7f3a9c1e5b2d4068"
INBOUND_AUTHORIZATION = "Basic " + base64.b64encode(b"proxy-user:proxy-pass-SEC-91d2c7").decode()
INBOUND_COOKIE = "session=cookie-SEC-4be8a0f61c"
WRONG_SECRET = "whsec_attacker_guess_SEC_0000000"
REJECTED_EMAIL = "example@test.com"  # in SendGrid's all-event-types sample: Braze refuses it per recipient
UNKNOWN_CAMPAIGN = "9b1d3f5a-7c2e-4a6b-8d0f-1e3a5c7b9d2f"  # stripe payment-failed: the sandbox answers 400
# An in-house sender on the generic `hmac` preset, its signature in a header whose name says neither
# "signature" nor "hmac" (PayPal's `paypal-transmission-sig` and Trello's `x-trello-webhook` are real
# examples of such names): redacted because the rule file names it, not because of its name.
CUSTOM_SOURCE, CUSTOM_HEADER = "acme", "X-Acme-Sig"
CUSTOM_RULES = f"""
version: 1
source: {CUSTOM_SOURCE}
description: An in-house system signing with the generic HMAC preset
verify:
  preset: hmac
  secrets: [secretsmanager:braze-adapter/{CUSTOM_SOURCE}#signing_secret]
  header: {CUSTOM_HEADER}
  prefix: "sha256="
event_id: "{{% id %}}"
rules:
  - id: signed-up
    when: "{{% type = 'user.signed_up' %}}"
    campaign:
      campaign_id: 4f2c9a7e-8d1b-4c3e-9f6a-2b7d8e1c0a55
      recipient:
        external_user_id: "{{% user_id %}}"
"""

# Planted through each log channel while capturing: the scanner must find these (see the tests).
CANARIES = {
    "powertools": "canary-SEC-powertools-9a1f3e",
    "stdlib": "canary-SEC-stdlib-5c7d21",
    "powertools-package": "canary-SEC-pt-package-44e0b9",
    "stdout": "canary-SEC-stdout-0b3c8f",
    "stderr": "canary-SEC-stderr-e6a572",
    "warning": "canary-SEC-warning-7d19aa",
}
CANARY_EMAIL = "canary.person@leak-check.example"


# --- capturing every log channel --------------------------------------------------------------


def plant_canaries() -> None:
    """One planted value per channel, so a test proves each channel really is captured."""
    import sys

    from adapter.observability import logger

    logger.debug("planted", extra={"value": CANARIES["powertools"], "email": CANARY_EMAIL})
    logging.getLogger("braze.client").debug("planted %s %s", CANARIES["stdlib"], CANARY_EMAIL)
    logging.getLogger("aws_lambda_powertools.utilities.idempotency").debug("planted %s", CANARIES["powertools-package"])
    print("planted", CANARIES["stdout"])
    print("planted", CANARIES["stderr"], file=sys.stderr)
    warnings.warn(f"planted {CANARIES['warning']}", stacklevel=1)


@contextlib.contextmanager
def events_logged(stack: LocalStack):
    """POWERTOOLS_LOGGER_LOG_EVENT=true, applied to the already imported handlers."""
    import handlers.dispatch
    import handlers.ingress
    from adapter.observability import logger

    pollers = stack.pollers
    original_ingress, original_dispatch = handlers.ingress.lambda_handler, [p.handler for p in pollers]
    handlers.ingress.lambda_handler = logger.inject_lambda_context(log_event=True, clear_state=True)(
        original_ingress.__wrapped__
    )
    logged_dispatch = logger.inject_lambda_context(log_event=True, clear_state=True)(
        handlers.dispatch.lambda_handler.__wrapped__
    )
    for poller in pollers:
        poller.handler = logged_dispatch
    try:
        yield
    finally:
        handlers.ingress.lambda_handler = original_ingress
        for poller, handler in zip(pollers, original_dispatch, strict=True):
            poller.handler = handler


# --- the traffic ------------------------------------------------------------------------------


@dataclass
class Sent:
    source: str
    body: bytes
    headers: dict[str, str]
    status: int
    answer: Any
    signature_values: list[str] = field(default_factory=list)


@dataclass
class Traffic:
    stack: LocalStack
    sandbox: BrazeSandbox
    sent: list[Sent]
    logs: str
    objects: dict[str, bytes]
    dead_letters: int
    attempts: list[dict[str, Any]]

    def needles(self) -> Needles:
        needles = Needles()
        needles.add_all("secret", {f"signing secret of {s}": v for s, v in self.stack.signing_secrets.items()})
        needles.add("secret", "a wrong secret an attacker tried", WRONG_SECRET)
        needles.add("secret", "Braze REST API key", BRAZE_KEY)
        needles.add("authorization", "outbound Authorization", f"Bearer {BRAZE_KEY}")
        needles.add("authorization", "inbound Authorization", INBOUND_AUTHORIZATION)
        needles.add("authorization", "inbound Cookie", INBOUND_COOKIE)
        for number, sent in enumerate(self.sent):
            for value in sent.signature_values:
                needles.add("signature", f"{sent.source} #{number} signature", value)
        needles.add_all("email", sorted(set().union(*(emails_in(s.body) for s in self.sent))))
        return needles


def _is_signature_header(name: str) -> bool:
    return any(word in name.lower() for word in ("signature", "hmac"))


def _event(file: str, **changes: Any) -> bytes:
    body = (EVENTS / file).read_bytes()
    if not changes:
        return body
    data = json.loads(body)
    data.update(changes)
    return json.dumps(data).encode()


class Driver:
    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.sent: list[Sent] = []

    def post(
        self,
        source: str,
        body: bytes,
        *,
        preset: str | None = None,
        headers: dict[str, str] | None = None,
        event_id: str | None = None,
        secret: str | None = None,
        timestamp: float | None = None,
        send_body: bytes | None = None,
        signed: bool = True,
        options: dict[str, Any] | None = None,
    ) -> Sent:
        signature = {}
        if signed:
            signature = get_preset(preset or source).sign(
                body,
                secret or self.stack.signing_secrets.get(source, WRONG_SECRET),
                timestamp=int(timestamp or time.time()),
                event_id=event_id,
                url=self.stack.webhook_url(source),
                options=options or {},
            )
        all_headers = {"content-type": "application/json", **(headers or {}), **signature}
        payload = body if send_body is None else send_body
        response = requests.post(self.stack.webhook_url(source), data=payload, headers=all_headers, timeout=10)
        try:
            answer = response.json()
        except ValueError:
            answer = response.text
        values = [v for k, v in signature.items() if _is_signature_header(k) or k == CUSTOM_HEADER]
        sent = Sent(source, payload, all_headers, response.status_code, answer, values)
        self.sent.append(sent)
        return sent


def run_traffic(driver: Driver) -> None:
    post = driver.post
    # Good deliveries with e-mail addresses in them, one per provider family.
    post(
        "stripe",
        _event("stripe/checkout.session.completed.json"),
        headers={"authorization": INBOUND_AUTHORIZATION, "cookie": INBOUND_COOKIE},
    )
    post(
        "shopify",
        _event("shopify/orders.create.test-notification.json"),
        headers={"x-shopify-topic": "orders/create", "x-shopify-webhook-id": "wh-sec-1"},
    )
    post(
        "github",
        _event("github/marketplace_purchase.purchased.json"),
        headers={"x-github-event": "marketplace_purchase", "x-github-delivery": "d-sec-1"},
    )
    post("clerk", _event("clerk/user.created.json"), preset="standard-webhooks", event_id="msg_sec_clerk")
    post("typeform", _event("typeform/form_response.json"))
    post("sendgrid", _event("sendgrid/event-webhook.all-event-types.json"))  # ECDSA; one address refused
    post("paddle", _event("paddle/customer.created.json"))
    post("segment", _event("segment/webhooks-destination.identify.json"))
    post("lemonsqueezy", _event("lemonsqueezy/order_created.json"), headers={"x-event-name": "order_created"})
    # A provider retry of the first one, newly signed: a duplicate.
    post("stripe", _event("stripe/checkout.session.completed.json"))
    # A send Braze refuses with a 4xx (unknown campaign): dead-lettered.
    failing = {
        "id": "evt_sec_4xx",
        "type": "payment_intent.payment_failed",
        "data": {"object": {"id": "pi_sec", "customer": "cus_sec", "amount": 500, "currency": "usd"}},
    }
    post("stripe", json.dumps(failing).encode())
    # Rejections: wrong secret, tampered body, stale timestamp, malformed and missing signatures.
    checkout = _event("stripe/checkout.session.completed.json", id="evt_sec_forged")
    post("stripe", checkout, secret=WRONG_SECRET)
    github = _event("github/marketplace_purchase.purchased.json")
    post(
        "github",
        github,
        headers={"x-github-event": "marketplace_purchase", "x-github-delivery": "d-sec-2"},
        send_body=github.replace(b"username@email.com", b"attacker@email.com"),
    )
    post(
        "clerk",
        _event("clerk/user.created.json"),
        preset="standard-webhooks",
        event_id="msg_sec_stale",
        timestamp=time.time() - 3600,
    )
    orders = _event("shopify/orders.create.test-notification.json")
    driver.post("shopify", orders, signed=False, headers={"x-shopify-hmac-sha256": "@@not-base64-SEC-signature-0f3e@@"})
    driver.sent[-1].signature_values.append("@@not-base64-SEC-signature-0f3e@@")
    post("typeform", _event("typeform/form_response.json"), signed=False)
    post("nobody", _event("stripe/checkout.session.completed.json"), preset="stripe", secret=WRONG_SECRET)
    custom = {"id": "acme-1", "type": "user.signed_up", "user_id": "u-1", "email": "wile.e@acme.example"}
    post(
        CUSTOM_SOURCE,
        json.dumps(custom).encode(),
        preset="hmac",
        options={"header": CUSTOM_HEADER, "prefix": "sha256="},
    )


def campaigns_except(unknown: str) -> list[str]:
    ids = set()
    for path in RULES.glob("*.yaml"):
        for rule in yaml.safe_load(path.read_text()).get("rules", []):
            if "campaign" in rule:
                ids.add(rule["campaign"]["campaign_id"])
    return sorted(ids - {unknown})


@pytest.fixture(scope="module")
def traffic(tmp_path_factory) -> Traffic:
    sandbox = BrazeSandbox(
        seed=5,
        api_keys=parse_api_keys([BRAZE_KEY]),
        campaign_ids=campaigns_except(UNKNOWN_CAMPAIGN),
        reject_recipients=[REJECTED_EMAIL],
        script=["429", "503"],  # the first two Braze requests: rate limited, then failing
        burst_reset_seconds=0,  # the rate-limit window ends at the next second
    ).start()
    custom_rules = tmp_path_factory.mktemp("rules") / f"{CUSTOM_SOURCE}.yaml"
    custom_rules.write_text(CUSTOM_RULES)
    options = StackOptions(
        rules=[*sorted(RULES.glob("*.yaml")), custom_rules],
        state_file=tmp_path_factory.mktemp("state") / "stack.json",
        batching_window=0.3,
        braze_endpoint=sandbox.url,
        braze_api_key=BRAZE_KEY,
        extra_environment={
            "BRAZE_ADAPTER_READ_TIMEOUT": "2",
            "BRAZE_ADAPTER_RETRY_BASE_DELAY": "1",
            "BRAZE_ADAPTER_RULES_MAX_AGE": "0.5",
            "POWERTOOLS_LOG_LEVEL": "DEBUG",
            "POWERTOOLS_LOGGER_LOG_EVENT": "true",
            "POWERTOOLS_METRICS_DISABLED": "false",
        },
    )
    try:
        with LocalStack(options) as stack:
            driver = Driver(stack)
            with capture_all_logs() as captured, events_logged(stack):
                plant_canaries()
                run_traffic(driver)
                assert stack.wait_until_idle(40), stack.queue_depths()
                time.sleep(0.3)
            s3 = stack.session.client("s3")
            bucket = stack.resources.bucket
            keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
            objects = {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}
            yield Traffic(
                stack,
                sandbox,
                driver.sent,
                captured.getvalue(),
                objects,
                stack.queue_depths()["dead_letter"],
                sandbox.attempts(),
            )
    finally:
        sandbox.stop()


# --- the checks -------------------------------------------------------------------------------


def test_the_traffic_took_every_path_it_claims(traffic):
    statuses = [(s.source, s.status) for s in traffic.sent]
    assert statuses.count(("stripe", 202)) == 3  # checkout, its duplicate, the 4xx one
    assert [s for s in traffic.sent if s.status == 202 and isinstance(s.answer, dict) and s.answer.get("duplicate")]
    assert sorted(s.answer["error"].split(": ")[-1] for s in traffic.sent if s.status == 401) == [
        "bad_signature",
        "bad_signature",
        "malformed_signature",
        "missing_signature",
        "stale_timestamp",
    ]
    assert ("nobody", 404) in statuses
    assert {s.source for s in traffic.sent if s.status == 202} >= {
        "stripe", "shopify", "github", "clerk", "typeform", "sendgrid", "paddle", "segment", "lemonsqueezy",
    }  # fmt: skip
    statuses_at_braze = [a.get("status") for a in traffic.attempts]
    assert 429 in statuses_at_braze and 503 in statuses_at_braze and 400 in statuses_at_braze
    assert any(a.get("status") == 201 for a in traffic.attempts)
    assert traffic.dead_letters >= 2  # the unknown campaign and the refused address
    assert traffic.needles().count("email") >= 10 and traffic.needles().count("signature") >= 15


def test_every_log_channel_is_captured_and_scanned(traffic):
    """The planted values come back through each channel: a leak there could not go unnoticed."""
    needles = Needles()
    needles.add_all("canary", CANARIES)
    needles.add("email", "planted address", CANARY_EMAIL)
    found = {(leak.kind, leak.label) for leak in find_leaks(traffic.logs, needles, "logs")}
    assert {label for kind, label in found if kind == "canary"} == set(CANARIES)
    # The planted address is masked in every channel, the library (stdlib) loggers' included...
    assert ("email", "planted address") not in found
    for channel in ("powertools", "stdlib"):
        masked = [line for line in traffic.logs.splitlines() if CANARIES[channel] in line]
        assert masked and all("c***@leak-check.example" in line for line in masked), channel
    # ...and the scanner would have found it unmasked.
    assert find_leaks(f"planted {CANARY_EMAIL}", needles, "probe")
    # and the handlers did log at DEBUG, with the incoming events
    assert '"level":"DEBUG"' in traffic.logs.replace(" ", "")
    assert "rawPath" in traffic.logs and "Records" in traffic.logs
    assert "signature rejected" in traffic.logs and "event dead-lettered" in traffic.logs
    assert "_aws" in traffic.logs  # EMF metric lines


def test_no_secret_signature_or_email_address_in_any_log_line(traffic):
    leaks = find_leaks(traffic.logs, traffic.needles(), "logs")
    assert not leaks, "\n".join(map(str, leaks))


def _archive_records(traffic: Traffic) -> dict[str, dict[str, Any]]:
    return {key: json.loads(body) for key, body in traffic.objects.items() if key.startswith("archive/")}


def test_every_accepted_delivery_is_archived_with_its_exact_body(traffic):
    records = _archive_records(traffic)
    by_event = {record["event_id"]: record for record in records.values()}
    accepted = [s for s in traffic.sent if s.status == 202 and not s.answer.get("duplicate")]
    assert len(records) == len(accepted)
    for sent in accepted:
        record = by_event[sent.answer["event_id"]]
        kept = record["body"].encode() if "body" in record else base64.b64decode(record["body_base64"])
        assert kept == sent.body, sent.source


def archive_problems(
    key: str, record: dict[str, Any], needles: Needles, signature_headers: tuple[str, ...] = ()
) -> list[str]:
    """What is wrong with one archived request under the archive contract (module docstring)."""
    problems = []
    for name, value in record.get("headers", {}).items():
        sensitive = _is_signature_header(name) or name in ("authorization", "cookie", *signature_headers)
        if sensitive and value != REDACTED:
            problems.append(f"{key}: header {name} is kept as {value[:40]!r}")
    body = record.get("body") or record.get("body_base64") or ""
    outside = {k: v for k, v in record.items() if k not in ("body", "body_base64")}
    problems += map(str, find_leaks(json.dumps(outside, ensure_ascii=False), needles, f"{key} (outside the body)"))
    problems += map(str, find_leaks(body, needles.without("email"), f"{key} (body)"))
    return problems


def test_archived_requests_keep_the_body_and_nothing_else_sensitive(traffic):
    needles = traffic.needles()
    records = _archive_records(traffic)
    assert records
    problems = [p for key, record in records.items() for p in archive_problems(key, record, needles)]
    assert not problems, "\n".join(problems)
    headers = {name for record in records.values() for name in record["headers"]}
    assert {"stripe-signature", "x-shopify-hmac-sha256", "webhook-signature", "authorization"} <= headers


def test_no_secret_or_credential_in_any_other_object_in_the_bucket(traffic):
    needles = traffic.needles().without("email", "signature")
    leaks = [
        leak
        for key, body in traffic.objects.items()
        if not key.startswith("archive/")
        for leak in find_leaks(body.decode("utf-8", "replace"), needles, key)
    ]
    assert not leaks, "\n".join(map(str, leaks))
    assert any(key.startswith("rules/") for key in traffic.objects)


def test_the_archive_check_flags_a_record_that_breaks_the_contract(traffic):
    """The same check on a doctored copy of a real record: every kind of breach is reported."""
    needles = traffic.needles()
    key, record = next((k, r) for k, r in _archive_records(traffic).items() if "stripe-signature" in r["headers"])
    stripe = next(s for s in traffic.sent if s.source == "stripe" and s.status == 202)
    doctored = json.loads(json.dumps(record))
    doctored["headers"]["stripe-signature"] = stripe.signature_values[0]
    doctored["headers"]["x-forwarded-for"] = "billz@supabase.io"
    doctored["body"] += BRAZE_KEY
    problems = "\n".join(archive_problems(key, doctored, needles))
    assert "header stripe-signature is kept" in problems
    assert "signature 'stripe #0 signature'" in problems
    assert "email 'billz@supabase.io'" in problems
    assert "secret 'Braze REST API key'" in problems and "(body)" in problems
    assert archive_problems(key, record, needles) == []


# --- a known gap: the generic preset's configured header ---------------------------------------


def _custom(traffic: Traffic) -> tuple[Sent, Needles]:
    sent = next(s for s in traffic.sent if s.source == CUSTOM_SOURCE)
    assert sent.status == 202, sent.answer
    needles = Needles()
    needles.add_all("signature", {f"{CUSTOM_HEADER} value": v for v in sent.signature_values})
    return sent, needles


def test_a_custom_signature_header_is_redacted_in_the_archive(traffic):
    sent, needles = _custom(traffic)
    [record] = [r for r in _archive_records(traffic).values() if r["source"] == CUSTOM_SOURCE]
    assert archive_problems(CUSTOM_SOURCE, record, needles, (CUSTOM_HEADER.lower(),)) == []


def test_a_custom_signature_header_is_redacted_in_logged_events(traffic):
    _, needles = _custom(traffic)
    assert find_leaks(traffic.logs, needles, "logs") == []
