"""The dispatch Lambda with real SQS events (ingress envelopes, raw, SNS, EventBridge) against moto and
the Braze sandbox: what reaches Braze, what goes back to the queue, what is dead-lettered and why."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from adapter.local.lambda_runtime import LambdaContext, http_api_event
from adapter.local.stack import LocalStack, StackOptions
from sources.envelope import MAX_MESSAGE_BYTES, build_envelope
from sources.presets import get_preset

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
RULES = sorted((ROOT / "examples" / "rules").glob("*.yaml")) + sorted(
    (ROOT / "tests" / "data" / "rules").glob("*.yaml")
)


@pytest.fixture(scope="module")
def stack():
    with LocalStack(StackOptions(rules=RULES, poll=False, batching_window=0.5)) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh(stack):
    stack.sandbox.reset()
    drain(stack, stack.resources.queue_url)
    drain(stack, stack.resources.dead_letter_queue_url)
    yield


def drain(stack, url):
    sqs = stack.session.client("sqs")
    messages = []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["All"]
    ).get("Messages", []):
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        messages += batch
    return messages


def enqueue(stack, body, **attributes):
    stack.session.client("sqs").send_message(
        QueueUrl=stack.resources.queue_url,
        MessageBody=body if isinstance(body, str) else json.dumps(body),
        MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    )


def order(order_id, customer, status="paid", total=10):
    return {"order_id": order_id, "customer_id": customer, "status": status, "total": total}


def bodies(stack):
    return [(r["path"], r["body"]) for r in stack.sandbox.requests()]


def test_an_ingress_envelope_becomes_the_expected_braze_request(stack):
    raw = (EVENTS / "stripe" / "customer.subscription.deleted.json").read_bytes()
    enqueue(
        stack,
        build_envelope(
            source="stripe",
            event_id="evt_1J02QdJDPojXS6LNnOJB09Xb",
            event_type=None,
            received_at="2026-11-23T00:00:00.000Z",
            headers={},
            query={},
            raw=raw,
            archive_key="archive/stripe/x.json",
        ),
    )
    assert stack.poll_once() == 1
    assert bodies(stack) == [
        (
            "/canvas/trigger/send",
            {
                "canvas_id": "2a4c6e8f-0b1d-4f3a-9c5e-7a9b1d3f5e7a",
                "recipients": [
                    {
                        "external_user_id": "cus_IhGfebO16cMIGN",
                        "context": {"canceled_at": "2021-06-08T10:45:02.000Z", "project": "temp webhooks"},
                    }
                ],
            },
        )
    ]
    assert stack.queue_depths() == {"queue": 0, "dead_letter": 0}


def test_raw_producer_messages_use_the_source_attribute(stack):
    enqueue(stack, order("o-1", "c-1"), source="orders")
    stack.poll_once()
    assert bodies(stack) == [
        (
            "/campaigns/trigger/send",
            {
                "campaign_id": "5a1f0c2e-0d4e-4d8b-9b7a-1e2f3a4b5c6d",
                "recipients": [{"external_user_id": "c-1", "trigger_properties": {"order_id": "o-1", "total": 10}}],
            },
        )
    ]


def test_sns_wrapped_messages(stack):
    notification = {
        "Type": "Notification",
        "MessageId": "m-1",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:orders",
        "Message": json.dumps(order("o-2", "c-2", status="cancelled") | {"reason": "late"}),
        "Timestamp": "2026-11-23T10:00:00.000Z",
    }
    enqueue(stack, notification)  # no attribute: the topic name is the source
    stack.poll_once()
    assert bodies(stack) == [
        (
            "/canvas/trigger/send",
            {
                "canvas_id": "3e2d1c0b-9a8f-4e7d-6c5b-4a3f2e1d0c9b",
                "recipients": [{"external_user_id": "c-2", "context": {"reason": "late"}}],
            },
        )
    ]


def test_eventbridge_events_use_source_and_detail_type(stack):
    event = {
        "version": "0",
        "id": "eb-1",
        "detail-type": "Order Shipped",
        "source": "com.shop.orders",
        "account": "123456789012",
        "time": "2026-11-23T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"customer_id": "c-3", "carrier": "DHL"},
    }
    enqueue(stack, event)
    enqueue(stack, {**event, "id": "eb-2", "detail-type": "Order Packed"})
    stack.poll_once()
    assert bodies(stack) == [
        (
            "/canvas/trigger/send",
            {
                "canvas_id": "0c9d8e7f-6a5b-4c3d-2e1f-0a9b8c7d6e5f",
                "recipients": [
                    {"external_user_id": "c-3", "context": {"carrier": "DHL", "bus_source": "com.shop.orders"}}
                ],
            },
        )
    ]


def test_events_of_one_batch_share_braze_requests(stack):
    for number in range(60):
        enqueue(stack, order(f"b-{number}", f"c-{number}"), source="orders")
    handled = 0
    while handled < 60:
        handled += stack.poll_once()
    assert [len(body["recipients"]) for _, body in bodies(stack)] == [50, 10]


def test_a_poisoned_message_is_dead_lettered_with_its_reason_while_the_rest_is_sent(stack):
    enqueue(stack, order("p-1", "c-1"), source="orders")
    enqueue(stack, "this is not json", source="orders")
    enqueue(stack, order("p-2", None), source="orders")  # no customer: a mapping error
    enqueue(stack, order("p-3", "c-3"), source="nosuchsource")
    enqueue(stack, order("p-4", "c-4"), source="orders")
    stack.poll_once()
    assert [r["external_user_id"] for _, body in bodies(stack) for r in body["recipients"]] == ["c-1", "c-4"]
    dead = drain(stack, stack.resources.dead_letter_queue_url)
    reasons = sorted(m["MessageAttributes"]["error"]["StringValue"] for m in dead)
    assert len(reasons) == 3
    assert reasons[0].startswith("mapping: rule order-confirmation rules[0].campaign.recipient: recipient identifier")
    assert reasons[1] == "no rule file for source 'nosuchsource'"
    assert reasons[2].startswith("unreadable message: message body is not JSON")
    assert all(m["MessageAttributes"]["source"]["StringValue"] in ("orders", "nosuchsource") for m in dead)
    assert stack.queue_depths() == {"queue": 0, "dead_letter": 0}


def test_rate_limited_events_are_requeued_until_the_reset_without_a_failed_attempt(stack):
    stack.sandbox.set_faults(script=["429"], burst_reset_seconds=2)
    enqueue(stack, order("r-1", "c-1"), source="orders")
    stack.poll_once()
    assert bodies(stack) == []
    sqs = stack.session.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=stack.resources.queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"  # a fresh copy, delayed
    time.sleep(2.5)
    deadline = time.monotonic() + 10
    while not bodies(stack) and time.monotonic() < deadline:
        stack.poll_once(wait=1)
    assert len(bodies(stack)) == 1
    assert stack.queue_depths() == {"queue": 0, "dead_letter": 0}


def test_5xx_leaves_the_message_for_a_retry_with_a_delay(stack):
    stack.sandbox.set_faults(script=["503"])
    enqueue(stack, order("f-1", "c-1"), source="orders")
    stack.poll_once()
    assert bodies(stack) == []
    depth = stack.queue_depths()
    assert depth["queue"] == 1 and depth["dead_letter"] == 0  # still on the queue...
    sqs = stack.session.client("sqs")
    assert "Messages" not in sqs.receive_message(QueueUrl=stack.resources.queue_url)  # ...hidden for the back-off


def test_the_rules_version_is_recorded_with_each_send(stack):
    enqueue(stack, order("v-1", "c-1"), source="orders")
    stack.poll_once()
    table = stack.session.client("dynamodb")
    items = table.scan(TableName=stack.resources.table)["Items"]
    sent = [i for i in items if i.get("event_id", {}).get("S") == "v-1"]
    assert len(sent) == 1 and sent[0]["state"]["S"] == "sent"
    assert sent[0]["rules_version"]["S"] == stack.rule_versions["orders"]
    assert sent[0]["dispatch_id"]["S"] == stack.sandbox.requests()[0]["dispatch_id"]


def test_bodies_too_large_for_the_message_come_from_the_archive(stack):
    big = order("l-1", "c-1") | {"padding": "x" * 300_000}
    raw = json.dumps(big).encode()
    s3 = stack.session.client("s3")
    key = "archive/orders/2026-11-23/l-1.json"
    s3.put_object(Bucket=stack.resources.bucket, Key=key, Body=json.dumps({"body": raw.decode()}).encode())
    envelope = build_envelope(
        source="orders",
        event_id="l-1",
        event_type=None,
        received_at="2026-11-23T00:00:00Z",
        headers={},
        query={},
        raw=raw,
        archive_key=key,
    )
    assert "body" not in json.loads(envelope)
    enqueue(stack, envelope)
    stack.poll_once()
    assert [r["external_user_id"] for _, body in bodies(stack) for r in body["recipients"]] == ["c-1"]


def ingress(stack, source, body: bytes, headers: dict[str, str]):
    """POST a webhook through the ingress Lambda, as API Gateway would."""
    from handlers.ingress import lambda_handler

    event = http_api_event(
        method="POST",
        raw_path=f"/hooks/{source}",
        raw_query="",
        headers=list(headers.items()),
        body=body,
        route_key="POST /hooks/{source}",
        path_parameters={"source": source},
    )
    response = lambda_handler(event, LambdaContext("IngressFunction", 10))
    return response["statusCode"], json.loads(response["body"])


def peek_envelope(stack, event_id):
    """The queued envelope of `event_id`, left on the queue for dispatch (everything read is visible again)."""
    sqs = stack.session.client("sqs")
    url = stack.resources.queue_url
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    for message in messages:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    (body,) = [m["Body"] for m in messages if json.loads(m["Body"]).get("event_id") == event_id]
    return body


def test_a_signed_webhook_too_large_for_one_message_is_still_mapped(stack):
    # 90,000 quotes are 180 KB in the body and twice that in a JSON envelope: queued by reference.
    event = json.loads((EVENTS / "stripe" / "customer.subscription.deleted.json").read_bytes())
    raw = json.dumps(event | {"id": "evt_too_large_for_sqs", "padding": '"' * 90_000}).encode()
    signature = get_preset("stripe").sign(raw, stack.signing_secrets["stripe"], timestamp=int(time.time()))
    status, answer = ingress(stack, "stripe", raw, {"content-type": "application/json", **signature})
    assert (status, answer) == (202, {"event_id": "evt_too_large_for_sqs"})
    message = peek_envelope(stack, "evt_too_large_for_sqs")
    assert len(message.encode()) <= MAX_MESSAGE_BYTES and "body" not in json.loads(message)
    stack.poll_once()
    assert [r["external_user_id"] for _, body in bodies(stack) for r in body["recipients"]] == ["cus_IhGfebO16cMIGN"]
    assert stack.queue_depths()["dead_letter"] == 0


def test_headers_of_a_by_reference_envelope_come_from_the_archive(stack):
    # A form body: dispatch can only parse it with the content type, which only the archive carries.
    raw = b"order_id=big-1&status=paid&customer_id=c-big&total=10&padding=" + b"%01" * 100_000
    status, answer = ingress(stack, "orders", raw, {"content-type": "application/x-www-form-urlencoded"})
    assert (status, answer) == (202, {"event_id": "big-1"})
    assert "headers" not in json.loads(peek_envelope(stack, "big-1"))
    stack.poll_once()
    assert [r["external_user_id"] for _, body in bodies(stack) for r in body["recipients"]] == ["c-big"]
    assert stack.queue_depths()["dead_letter"] == 0
