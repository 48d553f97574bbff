"""The ingress Lambda with real API Gateway v2 events against moto (S3, SQS, DynamoDB, Secrets Manager)."""

from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path

import pytest

from adapter.local.lambda_runtime import LambdaContext, http_api_event
from adapter.local.stack import LocalStack, StackOptions
from sources.presets import get_preset

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
RULES = sorted((ROOT / "examples" / "rules").glob("*.yaml")) + sorted(
    (ROOT / "tests" / "data" / "rules").glob("*.yaml")
)


@pytest.fixture(scope="module")
def stack():
    with LocalStack(StackOptions(rules=RULES, poll=False)) as running:
        yield running


@pytest.fixture(autouse=True)
def empty_queue(stack):
    queued(stack)  # drain what an earlier test left
    yield


def invoke(source, body: bytes, headers: dict[str, str], *, binary=False, query=""):
    from handlers.ingress import lambda_handler

    headers = {"content-type": "application/json", **headers}
    if binary:
        headers["content-type"] = "application/octet-stream"
    event = http_api_event(
        method="POST",
        raw_path=f"/hooks/{source}",
        raw_query=query,
        headers=list(headers.items()),
        body=body,
        route_key="POST /hooks/{source}",
        path_parameters={"source": source},
    )
    response = lambda_handler(event, LambdaContext("IngressFunction", 10))
    payload = base64.b64decode(response["body"]) if response.get("isBase64Encoded") else response["body"].encode()
    try:
        return response["statusCode"], json.loads(payload)
    except ValueError:
        return response["statusCode"], payload


def signed(stack, source, preset, body, **extra):
    return get_preset(preset).sign(body, stack.signing_secrets[source], timestamp=int(time.time()), **extra)


def queued(stack):
    """Every message now in the queue (received and deleted)."""
    sqs = stack.session.client("sqs")
    messages = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=stack.resources.queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            return messages
        for message in batch:
            sqs.delete_message(QueueUrl=stack.resources.queue_url, ReceiptHandle=message["ReceiptHandle"])
        messages += batch


CORPUS = [
    ("stripe", "stripe", "stripe/checkout.session.completed.json", {}, "evt_T8nSaZqtPudigUMqnnbY4D4v"),
    (
        "shopify",
        "shopify",
        "shopify/orders.create.test-notification.json",
        {"x-shopify-webhook-id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", "x-shopify-topic": "orders/create"},
        "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
    ),
    (
        "github",
        "github",
        "github/marketplace_purchase.purchased.json",
        {"x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958", "x-github-event": "marketplace_purchase"},
        "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    ),
    ("clerk", "standard-webhooks", "clerk/user.created.json", {}, "msg_2fA9clerkExample"),
    ("paddle", "paddle", "paddle/subscription.created.json", {}, None),
    ("typeform", "typeform", "typeform/form_response.json", {}, "LtWXD3crgy"),
    ("lemonsqueezy", "lemonsqueezy", "lemonsqueezy/order_created.json", {"x-event-name": "order_created"}, None),
    ("sendgrid", "sendgrid", "sendgrid/event-webhook.click.json", {}, None),
]


@pytest.mark.parametrize(("source", "preset", "file", "headers", "event_id"), CORPUS, ids=[c[0] for c in CORPUS])
def test_signed_corpus_requests_are_accepted_archived_and_queued(stack, source, preset, file, headers, event_id):
    body = (EVENTS / file).read_bytes()
    extra = {"event_id": "msg_2fA9clerkExample"} if preset == "standard-webhooks" else {}
    status, answer = invoke(source, body, {**headers, **signed(stack, source, preset, body, **extra)})
    assert status == 202, answer
    if event_id:
        assert answer == {"event_id": event_id}
    messages = queued(stack)
    assert len(messages) == 1
    envelope = json.loads(messages[0]["Body"])
    assert envelope["source"] == source and envelope["event_id"] == answer["event_id"]
    assert envelope["body"].encode() == body  # byte for byte: dispatch sees what was verified
    assert messages[0]["MessageAttributes"]["source"]["StringValue"] == source
    archived = json.loads(
        stack.session.client("s3").get_object(Bucket=stack.resources.bucket, Key=envelope["archive_key"])["Body"].read()
    )
    assert archived["body"].encode() == body
    signature_headers = [name for name in archived["headers"] if "signature" in name or "hmac" in name]
    assert signature_headers and all(archived["headers"][name] == "[redacted]" for name in signature_headers)
    assert envelope["archive_key"].startswith(f"archive/{source}/")


def test_tampered_missing_and_stale_signatures_are_401(stack):
    body = (EVENTS / "stripe" / "invoice.paid.json").read_bytes()
    headers = signed(stack, "stripe", "stripe", body)
    assert invoke("stripe", body + b" ", headers) == (401, {"error": "signature verification failed: bad_signature"})
    assert invoke("stripe", body, {}) == (401, {"error": "signature verification failed: missing_signature"})
    stale = get_preset("stripe").sign(body, stack.signing_secrets["stripe"], timestamp=int(time.time()) - 3600)
    assert invoke("stripe", body, stale) == (401, {"error": "signature verification failed: stale_timestamp"})
    assert queued(stack) == []


def test_rotation_accepts_both_secrets_and_a_secret_changed_after_caching(stack):
    secrets = stack.session.client("secretsmanager")
    secrets.put_secret_value(
        SecretId="braze-adapter/rotating", SecretString=json.dumps({"current": "new", "previous": "old"})
    )
    hmac_preset = get_preset("hmac")
    options = {"header": "x-signature", "algorithm": "sha256", "encoding": "hex", "prefix": "sha256="}
    for number, secret in enumerate(["old", "new"]):
        body = json.dumps({"id": f"r-{number}", "user": "u"}).encode()
        assert invoke("rotating", body, hmac_preset.sign(body, secret, options=options))[0] == 202
    # the operator rotates again while ingress has the old values cached: one forced re-read
    secrets.put_secret_value(
        SecretId="braze-adapter/rotating", SecretString=json.dumps({"current": "newest", "previous": "new"})
    )
    body = json.dumps({"id": "r-3", "user": "u"}).encode()
    assert invoke("rotating", body, hmac_preset.sign(body, "newest", options=options))[0] == 202
    assert len(queued(stack)) == 3


def test_duplicate_deliveries_are_accepted_but_queued_once(stack):
    body = (EVENTS / "stripe" / "customer.subscription.updated.json").read_bytes()
    first = invoke("stripe", body, signed(stack, "stripe", "stripe", body))
    again = invoke("stripe", body, signed(stack, "stripe", "stripe", body))  # a provider retry, newly signed
    assert first == (202, {"event_id": "evt_1IlavxJDPojXS6LNGNOrPWFQ"})
    assert again == (202, {"event_id": "evt_1IlavxJDPojXS6LNGNOrPWFQ", "duplicate": True})
    assert len(queued(stack)) == 1


def test_unknown_source_is_404(stack):
    assert invoke("nobody", b"{}", {}) == (404, {"error": "unknown source"})


def test_body_limits_and_content(stack):
    huge = b'{"id": "' + b"x" * 1_000_100 + b'"}'
    assert invoke("orders", huge, {})[0] == 413
    status, answer = invoke("orders", b"<xml/>", {"content-type": "text/xml"})
    assert status == 415 and "text/xml" in answer["error"]
    status, answer = invoke("orders", b'{"order_id": ', {})
    assert status == 400 and "JSON" in answer["error"]
    assert queued(stack) == []


def test_base64_encoded_bodies_are_verified_on_the_raw_bytes(stack):
    body = (EVENTS / "stripe" / "charge.succeeded.json").read_bytes()
    status, answer = invoke("stripe", body, signed(stack, "stripe", "stripe", body), binary=True)
    # API Gateway base64-encoded the body; the signature is over the decoded bytes, and the
    # octet-stream content type is then refused for parsing, after verification.
    assert status == 415, answer
    assert (
        invoke("stripe", body, {**signed(stack, "stripe", "stripe", body), "content-type": "application/json"})[0]
        == 202
    )


def test_slack_url_verification_handshake(stack):
    body = (EVENTS / "slack" / "url_verification.json").read_bytes()
    status, answer = invoke("slack", body, signed(stack, "slack", "slack", body))
    assert status == 200 and answer == {"challenge": json.loads(body)["challenge"]}
    assert queued(stack) == []


def test_form_bodies_and_repeated_query_parameters(stack):
    body = b"order_id=o-9&status=paid&customer_id=c1&total=10"
    status, _ = invoke("orders", body, {"content-type": "application/x-www-form-urlencoded"}, query="a=1&a=2&b=x")
    assert status == 202
    envelope = json.loads(queued(stack)[0]["Body"])
    assert envelope["event_id"] == "o-9"
    assert envelope["query"] == {"a": ["1", "2"], "b": "x"}


def test_a_concurrent_delivery_of_the_same_event_is_told_to_retry(stack):
    from handlers.ingress import receiver

    accept = receiver().accept_once
    started, release = threading.Event(), threading.Event()
    answers = []

    def slow_work():
        started.set()
        release.wait(5)
        return {"archive_key": "k"}

    worker = threading.Thread(
        target=lambda: answers.append(accept(delivery={"source": "s", "event_id": "same"}, work=slow_work))
    )
    worker.start()
    started.wait(5)
    from adapter.ingress import InProgress

    with pytest.raises(InProgress):
        accept(delivery={"source": "s", "event_id": "same"}, work=lambda: {"archive_key": "k"})
    release.set()
    worker.join(5)
    assert answers == [({"archive_key": "k"}, False)]
    assert accept(delivery={"source": "s", "event_id": "same"}, work=lambda: {"archive_key": "other"}) == (
        {"archive_key": "k"},
        True,
    )


def test_an_invalid_rule_file_keeps_the_last_good_one_and_a_first_invalid_one_is_503(stack):
    s3 = stack.session.client("s3")
    body = (EVENTS / "stripe" / "payment_intent.succeeded.json").read_bytes()
    good = (ROOT / "examples" / "rules" / "stripe.yaml").read_text()
    s3.put_object(
        Bucket=stack.resources.bucket, Key="rules/stripe.yaml", Body=good.replace("preset: stripe", "preset: strip")
    )
    time.sleep(5.1)  # the store re-checks S3 after rules_max_age
    assert invoke("stripe", body, signed(stack, "stripe", "stripe", body))[0] == 202  # still the last good verify
    s3.put_object(
        Bucket=stack.resources.bucket,
        Key="rules/fresh.yaml",
        Body="version: 1\nsource: fresh\nverify: {preset: nope}\n",
    )
    assert invoke("fresh", b"{}", {}) == (
        503,
        {"error": "this source's rule file is invalid; the operator has been told"},
    )
    s3.put_object(Bucket=stack.resources.bucket, Key="rules/stripe.yaml", Body=good)
