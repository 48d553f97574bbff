"""`map` and rule-file tests see the headers production maps with: redacted as ingress queued them."""

import json
import textwrap

from adapter.cli import main
from adapter.dispatch import Dispatcher
from adapter.ingress import Receiver
from adapter.local.lambda_runtime import http_api_event
from adapter.settings import DispatchSettings, IngressSettings
from mapping.engine import map_events
from mapping.ruleset import parse_ruleset
from mapping.source_config import parse_source_config
from sources.presets import get_preset

SECRET = "acme-signing-secret"
# The event id comes from a header that ingress redacts before queueing (like Twilio's
# I-Twilio-Idempotency-Token): ids are derived from the headers as sent, rules read them redacted.
RULES = textwrap.dedent("""\
    version: 1
    source: acme
    verify: {preset: hmac, header: X-Acme-Signature, secrets: ["env:ACME_SECRET"]}
    event_id: "{% $headers.'x-acme-delivery-token' %}"
    rules:
      - id: echo
        campaign:
          campaign_id: c1
          recipient:
            external_user_id: "{% user %}"
            trigger_properties:
              token: "{% $headers.'x-acme-delivery-token' %}"
              signature: "{% $headers.'x-acme-signature' %}"
              agent: "{% $headers.'user-agent' %}"
              event_id: "{% $eventId %}"
    tests:
      - name: headers read as queued
        event: {user: u1}
        headers: {X-Acme-Delivery-Token: tok-1, X-Acme-Signature: abc, User-Agent: Acme/2}
        expect:
          - path: /campaigns/trigger/send
            body:
              campaign_id: c1
              recipients:
                - external_user_id: u1
                  trigger_properties: {token: "[redacted]", signature: "[redacted]", agent: Acme/2, event_id: tok-1}
    """)
BODY = b'{"user": "u1"}'


class _Aws:
    """S3 and SQS of ingress: keeps what was queued."""

    def __init__(self) -> None:
        self.messages: list[dict] = []

    def put_object(self, **kwargs) -> None:
        pass

    def send_message(self, **kwargs) -> None:
        self.messages.append(kwargs)


class _Store:
    def __init__(self, value) -> None:
        self.value = value

    def get(self, source: str):
        return self.value


def _production(headers: dict[str, str]) -> dict:
    """The requests production sends: the real ingress queues the webhook, dispatch parses and maps it."""
    aws = _Aws()
    settings = IngressSettings(queue_url="https://sqs.local/q")
    config = parse_source_config(RULES, "rules/acme.yaml")
    receiver = Receiver(
        settings, _Store(config), aws, aws, lambda delivery, work: (work(), False), secret=lambda *a, **k: SECRET
    )
    event = http_api_event(
        method="POST",
        raw_path="/hooks/acme",
        raw_query="",
        headers=list(headers.items()),
        body=BODY,
        route_key="POST /hooks/{source}",
        path_parameters={"source": "acme"},
    )
    assert receiver.receive("acme", event).status == 202
    [message] = aws.messages
    record = {"messageId": "m1", "body": message["MessageBody"], "messageAttributes": {}}
    parsed = Dispatcher(DispatchSettings(), None, None, None, None)._parse(record)
    ruleset = parse_ruleset(RULES, "rules/acme.yaml", check_files=False)
    result = map_events(ruleset, [parsed.inbound])
    return {"received_at": parsed.inbound.received_at, "requests": [r.to_json() for r in result.requests()]}


def test_map_gives_the_requests_production_sends(tmp_path, capsys):
    headers = {"Content-Type": "application/json", "X-Acme-Delivery-Token": "tok-1", "User-Agent": "Acme/2"}
    headers |= get_preset("hmac").sign(BODY, SECRET, options={"header": "X-Acme-Signature"})
    production = _production(headers)
    capsys.readouterr()  # ingress logs to stdout

    rules, event = tmp_path / "acme.yaml", tmp_path / "event.json"
    rules.write_text(RULES)
    event.write_bytes(BODY)
    header_args = [arg for name, value in headers.items() for arg in ("--header", f"{name}: {value}")]
    assert main(["map", str(rules), str(event), "--received-at", production["received_at"], *header_args]) == 0
    mapped = json.loads(capsys.readouterr().out)

    assert mapped["requests"] == production["requests"]
    assert mapped["requests"][0]["body"]["recipients"][0]["trigger_properties"] == {
        "token": "[redacted]",
        "signature": "[redacted]",
        "agent": "Acme/2",
        "event_id": "tok-1",
    }


def test_rule_file_tests_see_the_redacted_headers(tmp_path, capsys):
    rules = tmp_path / "acme.yaml"
    rules.write_text(RULES)
    assert main(["test", str(rules)]) == 0, capsys.readouterr().out
