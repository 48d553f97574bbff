"""Body size limits: where they are set, how they relate to AWS's, and the 413 boundary.

The limit is `IngressSettings.max_body_bytes` (src/adapter/settings.py, `BRAZE_ADAPTER_MAX_BODY_BYTES`,
default 1,000,000 bytes; template.yaml does not override it), checked in src/adapter/ingress.py on the
decoded body, before the signature is verified (no HMAC over oversized input). Against AWS:

* API Gateway HTTP API accepts payloads up to 10 MB, and a synchronous Lambda invocation up to 6 MB
  (6,291,456 bytes) of event JSON, where a binary body arrives base64-encoded (4/3 larger): the limit
  must leave a body that passed API Gateway still able to reach the function, and be enforced by it;
* SQS accepts 256 KiB per message (a queue's `MaximumMessageSize` may still say so, though new queues
  can take 1 MiB): larger bodies go to the queue by reference to their archive record; sizing the
  envelope itself is covered by tests/unit/sources/test_sources_envelope.py.

tests/integration/test_ingress.py checks one body well over the limit (1,000,110 bytes) gets 413; the
fuzz suite generates bodies of exactly 1,000,000 and 1,000,011 bytes but only checks that every answer
is well-formed. Nothing pins the boundary itself or how base64 bodies are counted: the handler tests
here do, on both sides of it, through the real ingress logic (`Receiver`) with S3 and SQS recorded.
"""

from __future__ import annotations

import base64
import json
import time
from functools import lru_cache
from pathlib import Path

import pytest
from cfnlint.decode import cfn_yaml

from adapter.ingress import Receiver
from adapter.local.gateway import MAX_REQUEST_BYTES
from adapter.local.lambda_runtime import http_api_event
from adapter.settings import IngressSettings, load_settings
from mapping.source_config import SourceConfig, parse_source_config
from sources.envelope import MAX_MESSAGE_BYTES
from sources.presets import get_preset

ROOT = Path(__file__).resolve().parents[2]
API_GATEWAY_PAYLOAD = 10 * 1024 * 1024  # HTTP API quota, "10 MB"
LAMBDA_SYNC_PAYLOAD = 6 * 1024 * 1024  # synchronous invocation request, "6 MB"
SQS_LEGACY_MESSAGE = 256 * 1024


@lru_cache(maxsize=1)
def _template_environment() -> dict[str, object]:
    template = cfn_yaml.load(str(ROOT / "template.yaml"))
    environment = dict(template["Globals"]["Function"]["Environment"]["Variables"])
    ingress = template["Resources"]["IngressFunction"]["Properties"]
    environment.update(ingress.get("Environment", {}).get("Variables", {}))
    return environment


def limit() -> int:
    environment = {k: str(v) for k, v in _template_environment().items() if isinstance(v, str | int)}
    return load_settings(IngressSettings, environment).max_body_bytes


def test_the_limit_fits_between_what_api_gateway_and_lambda_let_through():
    assert "BRAZE_ADAPTER_MAX_BODY_BYTES" not in _template_environment()
    assert limit() == IngressSettings().max_body_bytes == 1_000_000
    assert limit() < API_GATEWAY_PAYLOAD
    base64_body = (limit() + 2) // 3 * 4
    assert base64_body + 64 * 1024 < LAMBDA_SYNC_PAYLOAD  # with room for headers and request context
    assert MAX_REQUEST_BYTES == API_GATEWAY_PAYLOAD  # the local gateway refuses what API Gateway would
    assert limit() > SQS_LEGACY_MESSAGE and MAX_MESSAGE_BYTES <= SQS_LEGACY_MESSAGE  # hence by reference


class _Recorder:
    """Stands in for the S3 and SQS clients and records what ingress writes."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.messages: list[str] = []

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, **_: object) -> dict:
        self.objects[Key] = Body
        return {}

    def send_message(self, *, MessageBody: str, **_: object) -> dict:
        self.messages.append(MessageBody)
        return {}


class _Store:
    def __init__(self, config: SourceConfig) -> None:
        self.config = config

    def get(self, source: str) -> SourceConfig:
        return self.config


SECRET = "whsec_body_limit_test"


@pytest.fixture
def ingress() -> tuple[Receiver, _Recorder]:
    """The real ingress logic (src/adapter/ingress.py Receiver) with the settings template.yaml gives it."""
    config = parse_source_config((ROOT / "examples" / "rules" / "stripe.yaml").read_text(), "rules/stripe.yaml")
    environment = {k: str(v) for k, v in _template_environment().items() if isinstance(v, str | int)}
    settings = load_settings(IngressSettings, environment | {"BRAZE_ADAPTER_QUEUE_URL": "https://sqs.local/q"})
    aws = _Recorder()
    receiver = Receiver(
        settings, _Store(config), aws, aws, lambda delivery, work: (work(), False), secret=lambda *a, **k: SECRET
    )
    return receiver, aws


def _body(size: int, event_id: str) -> bytes:
    head = json.dumps({"id": event_id, "type": "invoice.paid", "padding": ""}).encode()
    body = head[:-2] + b"x" * (size - len(head)) + head[-2:]
    assert len(body) == size
    return body


def _receive(receiver: Receiver, body: bytes, *, signed: bool = True, encoded: bool = False) -> tuple[int, dict]:
    headers = {"content-type": "application/json"}
    if signed:
        headers |= get_preset("stripe").sign(body, SECRET, timestamp=int(time.time()))
    event = http_api_event(
        method="POST",
        raw_path="/hooks/stripe",
        raw_query="",
        headers=list(headers.items()),
        body=body,
        route_key="POST /hooks/{source}",
        path_parameters={"source": "stripe"},
    )
    if encoded:  # what API Gateway sends for a binary body
        event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    answer = receiver.receive("stripe", event)
    return answer.status, answer.body


@pytest.mark.parametrize("encoded", [False, True], ids=["text", "base64"])
def test_a_body_of_exactly_the_limit_is_accepted_and_queued_by_reference(ingress, encoded):
    receiver, aws = ingress
    body = _body(limit(), "evt_at_limit")
    assert _receive(receiver, body, encoded=encoded) == (202, {"event_id": "evt_at_limit"})
    [message] = aws.messages
    assert len(message.encode()) <= MAX_MESSAGE_BYTES
    envelope = json.loads(message)
    assert "body" not in envelope and envelope["archive_key"].endswith("/evt_at_limit.json")
    assert json.loads(aws.objects[envelope["archive_key"]])["body"].encode() == body


@pytest.mark.parametrize("encoded", [False, True], ids=["text", "base64"])
def test_one_byte_more_is_413_before_verification_and_leaves_no_trace(ingress, encoded):
    receiver, aws = ingress
    body = _body(limit() + 1, "evt_over_limit")
    for signed in (True, False):  # unsigned too: the size is refused before any HMAC is computed
        status, answer = _receive(receiver, body, signed=signed, encoded=encoded)
        assert status == 413 and str(limit()) in answer["error"]
    assert aws.messages == [] and aws.objects == {}
