"""End to end over HTTP: signed webhook -> local API -> ingress -> SQS -> dispatch -> Braze sandbox.

The stack starts the way `make run` starts it (moto, the template's resources, the example rules,
the sandbox, the gateway and the queue poller), inside this test process.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from adapter.cli import main
from adapter.local.stack import LocalStack, StackOptions
from mapping.engine import map_events
from mapping.events import InboundEvent
from mapping.ruleset import load_ruleset
from sources.body import parse_body
from sources.presets import get_preset

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
RULES = ROOT / "examples" / "rules"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    import os

    state = tmp_path_factory.mktemp("state") / "stack.json"
    os.environ["BRAZE_ADAPTER_LOCAL_STATE"] = str(state)
    options = StackOptions(
        state_file=state,
        batching_window=0.3,
        sandbox_options={"seed": 5},
        extra_environment={
            "BRAZE_ADAPTER_READ_TIMEOUT": "1",
            "BRAZE_ADAPTER_RETRY_BASE_DELAY": "1",
            "BRAZE_ADAPTER_RULES_MAX_AGE": "0.5",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
        },
    )
    with LocalStack(options) as running:
        yield running
    os.environ.pop("BRAZE_ADAPTER_LOCAL_STATE", None)


@pytest.fixture(autouse=True)
def clean(stack):
    stack.sandbox.reset()
    yield
    stack.sandbox.clear_faults()


def post(stack, source, body: bytes, headers=None, preset=None, event_id=None):
    preset = preset or source
    signed = get_preset(preset).sign(
        body,
        stack.signing_secrets[source],
        timestamp=int(time.time()),
        event_id=event_id,
        url=stack.webhook_url(source),
    )
    all_headers = {"content-type": "application/json", **(headers or {}), **signed}
    return requests.post(stack.webhook_url(source), data=body, headers=all_headers, timeout=10)


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def settled(stack, expected_requests):
    assert wait_for(lambda: len(stack.sandbox.requests()) >= expected_requests), stack.sandbox.requests()
    assert stack.wait_until_idle(20)
    time.sleep(0.3)  # anything unexpected would show up now
    return [(r["path"], r["body"]) for r in stack.sandbox.requests()]


def expected(source, file, headers=None, event_id=None):
    """What `braze-adapter map` says this event becomes: the oracle for the pipeline."""
    raw = (EVENTS / file).read_bytes()
    headers = {"content-type": "application/json", **(headers or {})}
    event = InboundEvent(body=parse_body(raw, "application/json"), raw=raw, headers=headers, event_id=event_id)
    result = map_events(load_ruleset(RULES / f"{source}.yaml"), [event])
    assert result.errors == []
    return [(r.path, r.body) for r in result.requests()]


CASES = [
    ("stripe", "stripe", "stripe/checkout.session.completed.json", {}),
    (
        "shopify",
        "shopify",
        "shopify/orders.create.test-notification.json",
        {"x-shopify-topic": "orders/create", "x-shopify-webhook-id": "wh-e2e-1"},
    ),
    (
        "github",
        "github",
        "github/marketplace_purchase.purchased.json",
        {"x-github-event": "marketplace_purchase", "x-github-delivery": "d-e2e-1"},
    ),
    ("clerk", "standard-webhooks", "clerk/user.created.json", {}),
]


@pytest.mark.parametrize(("source", "preset", "file", "headers"), CASES, ids=[c[0] for c in CASES])
def test_signed_requests_reach_braze_as_the_expected_bodies(stack, source, preset, file, headers):
    event_id = f"msg_e2e_{source}"
    response = post(stack, source, (EVENTS / file).read_bytes(), headers, preset, event_id)
    assert response.status_code == 202, response.text
    oracle = expected(source, file, headers, event_id=response.json()["event_id"])
    assert oracle  # every case maps to at least one request
    assert settled(stack, len(oracle)) == oracle


def test_stripe_checkout_body_in_detail(stack):
    post(stack, "stripe", (EVENTS / "stripe" / "checkout.session.completed.json").read_bytes())
    # sent once above already (same event id): a fresh id makes it a new event
    body = json.loads((EVENTS / "stripe" / "checkout.session.completed.json").read_text())
    body["id"] = "evt_e2e_detail"
    assert post(stack, "stripe", json.dumps(body).encode()).status_code == 202
    [(path, sent)] = settled(stack, 1)
    assert path == "/canvas/trigger/send"
    assert sent == {
        "canvas_id": "7f8e6d5c-4b3a-4291-8e7f-6a5b4c3d2e1f",
        "recipients": [
            {
                "external_user_id": "cus_IhGfebO16cMIGN",
                "context": {
                    "order_total": 9.99,
                    "currency": "EUR",
                    "checkout_session": "cs_live_9RBjcHiy2i5p99Tf1MYM90c3SHK1grU0E6Ae6pKWR2KPA4ZiuKiB2X1Y3X",
                },
                "attributes": {"email": "billz@supabase.io", "last_order_currency": "EUR"},
            }
        ],
    }


def stripe_event(number, customer=None):
    return json.dumps(
        {
            "id": f"evt_e2e_{number}",
            "type": "payment_intent.payment_failed",
            "data": {
                "object": {
                    "id": f"pi_{number}",
                    "customer": customer or f"cus_{number}",
                    "amount": 1000 + number,
                    "currency": "usd",
                    "last_payment_error": {"message": "declined"},
                }
            },
        }
    ).encode()


def recipients(stack):
    return [
        r["external_user_id"] for request in stack.sandbox.requests() for r in request["body"].get("recipients", [])
    ]


def test_the_same_event_posted_twice_sends_once(stack):
    body = stripe_event(100)
    first, second = post(stack, "stripe", body), post(stack, "stripe", body)
    assert (first.status_code, second.status_code) == (202, 202)
    assert second.json() == {"event_id": "evt_e2e_100", "duplicate": True}
    settled(stack, 1)
    assert recipients(stack) == ["cus_100"]


def test_sixty_events_for_one_campaign_arrive_as_two_braze_requests(stack):
    stack.poller.pause()
    try:
        for number in range(200, 260):
            assert post(stack, "stripe", stripe_event(number)).status_code == 202
    finally:
        stack.poller.resume()
    settled(stack, 2)
    assert [len(r["body"]["recipients"]) for r in stack.sandbox.requests()] == [50, 10]


def test_5xx_and_429_episodes_end_with_every_send_delivered_once(stack):
    # a scripted episode (so both kinds surely happen), then random 5xx for the rest of the run
    stack.sandbox.set_faults(script=["503", "429", "429", "500", "ok", "504"], error_rate=0.2, burst_reset_seconds=1)
    numbers = range(300, 340)
    for number in numbers:
        assert post(stack, "stripe", stripe_event(number)).status_code == 202
    assert wait_for(lambda: len(set(recipients(stack))) == len(numbers), timeout=60), sorted(set(recipients(stack)))
    assert stack.wait_until_idle(30)
    assert sorted(recipients(stack)) == sorted(f"cus_{n}" for n in numbers)  # each exactly once
    faults = [a for a in stack.sandbox.attempts() if a.get("status") in (429, 500, 502, 503, 504)]
    assert any(a["status"] == 429 for a in faults) and any(a["status"] >= 500 for a in faults)
    assert stack.queue_depths() == {"queue": 0, "dead_letter": 0}


def test_a_read_timeout_leaves_a_held_unknown_send_visible_in_ledger_list(stack, capsys):
    stack.sandbox.set_faults(script=["slow"], slow_seconds=2.5)
    assert post(stack, "stripe", stripe_event(400)).status_code == 202
    assert wait_for(lambda: stack.sandbox.attempts())
    assert stack.wait_until_idle(20)
    capsys.readouterr()
    assert main(["ledger", "list", "--state", "unknown"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and "\tstripe\tpayment-failed\tevt_e2e_400\t" in lines[0]
    key = lines[0].split("\t")[0]
    time.sleep(2.5)
    assert recipients(stack) == ["cus_400"]  # Braze got it (slowly), exactly once
    assert main(["ledger", "resolve", key, "--sent"]) == 0
    assert main(["ledger", "list", "--state", "unknown"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "marked sent"


def test_a_bad_rule_publish_keeps_the_last_good_rules(stack, tmp_path, capsys):
    broken = tmp_path / "stripe.yaml"
    broken.write_text((RULES / "stripe.yaml").read_text().replace("campaign_id: 9b1d3f5a", "campaign_idd: 9b1d3f5a"))
    assert main(["publish", str(broken)]) == 1
    assert "nothing was published" in capsys.readouterr().err
    # someone uploads it anyway, around the CLI: the running stack keeps the last good version
    s3 = stack.session.client("s3")
    s3.put_object(Bucket=stack.resources.bucket, Key="rules/stripe.yaml", Body=broken.read_bytes())
    time.sleep(0.6)
    try:
        assert post(stack, "stripe", stripe_event(500)).status_code == 202
        settled(stack, 1)
        assert recipients(stack) == ["cus_500"]
    finally:
        s3.put_object(Bucket=stack.resources.bucket, Key="rules/stripe.yaml", Body=(RULES / "stripe.yaml").read_bytes())


def test_replay_after_wiping_the_sandbox_resends_nothing_already_sent(stack, capsys):
    for number in range(600, 605):
        assert post(stack, "stripe", stripe_event(number)).status_code == 202
    settled(stack, 1)
    stack.sandbox.clear()
    today = datetime.now(UTC).date().isoformat()
    capsys.readouterr()
    assert main(["replay", "--source", "stripe", "--from", today, "--to", today, "--dry-run"]) == 0
    dry = json.loads(capsys.readouterr().out)
    flags = [flag for request in dry["requests"] for flag in request["would_send"]]
    assert flags and not any(flags) and dry["would_send"] == 0
    assert main(["replay", "--source", "stripe", "--from", today, "--to", today]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["sends"].get("sent", 0) == 0 and summary["sends"]["duplicate"] > 0
    assert stack.sandbox.requests() == []


def test_redrive_sends_an_event_that_keeps_failing_once_per_run(stack, capsys):
    customer = "sandbox-reject-700"  # Braze refuses this recipient every time
    assert post(stack, "stripe", stripe_event(700, customer)).status_code == 202
    assert wait_for(lambda: stack.queue_depths()["dead_letter"] == 1)
    assert recipients(stack) == [customer]
    capsys.readouterr()
    try:
        assert main(["redrive", "--max", "5"]) == 0
        assert "moved 1 message(s)" in capsys.readouterr().out
        assert wait_for(lambda: stack.queue_depths() == {"queue": 0, "dead_letter": 1})
        time.sleep(1.5)  # a second move would have shown up by now
        assert recipients(stack) == [customer, customer]  # one more Braze call, not five
    finally:
        drain_dead_letters(stack)


def drain_dead_letters(stack):
    sqs = stack.session.client("sqs")
    while batch := sqs.receive_message(QueueUrl=stack.resources.dead_letter_queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        for message in batch:
            sqs.delete_message(QueueUrl=stack.resources.dead_letter_queue_url, ReceiptHandle=message["ReceiptHandle"])


def test_replay_against_an_aws_stack_never_uses_the_local_sandbox(stack, capsys, monkeypatch):
    from braze.sandbox import BrazeSandbox, parse_api_keys

    # an operator's shell: the stack runs in this process and exports the local dispatch settings
    monkeypatch.delenv("BRAZE_ADAPTER_BRAZE_ENDPOINT")

    # CloudFormation stacks (in the local moto) that share the local resources, so only Braze differs
    outputs = {
        "RulesBucketName": stack.resources.bucket,
        "LedgerTableName": stack.resources.table,
        "EventsQueueUrl": stack.resources.queue_url,
        "EventsDeadLetterQueueUrl": stack.resources.dead_letter_queue_url,
    }

    def aws_stack(name, **parameters):
        template = {
            "Parameters": {key: {"Type": "String", "Default": value} for key, value in parameters.items()},
            "Resources": {"Placeholder": {"Type": "AWS::SQS::Queue"}},
            "Outputs": {key: {"Value": value} for key, value in outputs.items()},
        }
        stack.session.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))

    day = "2026-01-05"
    record = {
        "source": "stripe",
        "event_id": "evt_e2e_800",
        "received_at": f"{day}T09:00:00Z",
        "headers": {"content-type": "application/json"},
        "query": {},
        "body": stripe_event(800).decode(),
    }
    stack.session.client("s3").put_object(
        Bucket=stack.resources.bucket, Key=f"archive/stripe/{day}/evt_e2e_800.json", Body=json.dumps(record).encode()
    )
    replay = ["replay", "--source", "stripe", "--from", day, "--to", day, "--stack"]

    aws_stack("e2e-bare")  # says nothing about Braze
    capsys.readouterr()
    assert main([*replay, "e2e-bare"]) == 2
    assert "has no BrazeEndpoint parameter" in capsys.readouterr().err

    production = BrazeSandbox(api_keys=parse_api_keys(["prod-key"])).start()
    try:
        put_secret = stack.session.client("secretsmanager").create_secret
        put_secret(Name="e2e-prod/braze", SecretString=json.dumps({"api_key": "prod-key"}))
        aws_stack("e2e-prod", BrazeEndpoint=production.url, BrazeApiKeySecret="e2e-prod/braze")
        assert main([*replay, "e2e-prod"]) == 0
        assert json.loads(capsys.readouterr().out)["sends"] == {"sent": 1}
        assert [r["body"]["recipients"][0]["external_user_id"] for r in production.requests()] == ["cus_800"]
    finally:
        production.stop()
    assert stack.sandbox.attempts() == []
