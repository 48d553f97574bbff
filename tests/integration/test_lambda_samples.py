"""The Lambda event samples in events/lambda/ (for `sam local invoke -e ...`) are real shapes: each
one, handed to its handler as it is, does what its name says against moto and the Braze sandbox."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from adapter.local.lambda_runtime import LambdaContext
from adapter.local.stack import LocalStack, StackOptions
from sources.presets import get_preset

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "events" / "lambda"
RULES = [ROOT / "examples" / "rules" / "stripe.yaml", *sorted((ROOT / "tests" / "data" / "rules").glob("*.yaml"))]


@pytest.fixture(scope="module")
def stack():
    with LocalStack(StackOptions(rules=RULES, poll=False)) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh(stack):
    stack.sandbox.reset()


def sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text())


def dispatch(event: dict) -> dict:
    import handlers.dispatch

    return handlers.dispatch.lambda_handler(event, LambdaContext("DispatchFunction", 30))


def ingress(event: dict) -> dict:
    import handlers.ingress

    return handlers.ingress.lambda_handler(event, LambdaContext("IngressFunction", 10))


def received(stack) -> list[tuple[str, str, list[str]]]:
    return [
        (
            r["path"],
            r["body"].get("campaign_id") or r["body"]["canvas_id"],
            [x["external_user_id"] for x in r["body"]["recipients"]],
        )
        for r in stack.sandbox.requests()
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "dispatch-sqs-ingress-envelope.json",
            ("/canvas/trigger/send", "7f8e6d5c-4b3a-4291-8e7f-6a5b4c3d2e1f", ["cus_IhGfebO16cMIGN"]),
        ),
        ("dispatch-sqs-raw.json", ("/campaigns/trigger/send", "5a1f0c2e-0d4e-4d8b-9b7a-1e2f3a4b5c6d", ["c-42"])),
        ("dispatch-sqs-sns.json", ("/canvas/trigger/send", "3e2d1c0b-9a8f-4e7d-6c5b-4a3f2e1d0c9b", ["c-43"])),
        ("dispatch-sqs-eventbridge.json", ("/canvas/trigger/send", "0c9d8e7f-6a5b-4c3d-2e1f-0a9b8c7d6e5f", ["c-44"])),
    ],
)
def test_each_sqs_sample_reaches_braze(stack, name, expected):
    assert dispatch(sample(name)) == {"batchItemFailures": []}
    assert received(stack) == [expected]


def test_the_ingress_sample_is_a_real_http_api_event(stack):
    event = sample("ingress-stripe-checkout.json")
    # As it is, it is signed with the sample secret at a fixed time: refused, with a JSON reason.
    response = ingress(event)
    assert response["statusCode"] == 401 and "signature" in json.loads(response["body"])["error"]
    # Signed now with this stack's secret, the same event is accepted and queued.
    body = event["body"].encode()
    signed = get_preset("stripe").sign(body, stack.signing_secrets["stripe"], timestamp=int(time.time()))
    response = ingress({**event, "headers": {**event["headers"], **signed}})
    assert response["statusCode"] == 202
    assert json.loads(response["body"]) == {"event_id": "evt_T8nSaZqtPudigUMqnnbY4D4v"}
    assert stack.queue_depths()["queue"] == 1
