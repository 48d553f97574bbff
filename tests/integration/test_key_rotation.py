"""Braze API key rotation against a moto Secrets Manager secret and the sandbox (which checks keys):
a rotated key is picked up after the secrets max age, or at once when Braze answers 401."""

from __future__ import annotations

import json
import textwrap
import time

import pytest

from adapter.delivery import build_sender
from adapter.settings import DispatchSettings
from braze.batching import Destination
from braze.sandbox import BrazeSandbox
from braze.sender import SendStatus
from mapping.engine import map_events
from mapping.events import InboundEvent
from mapping.ruleset import parse_ruleset

pytestmark = pytest.mark.integration

SECRET = "braze-adapter/braze"
PERMISSIONS = {"campaigns.trigger.send", "canvas.trigger.send"}
RULES = parse_ruleset(
    textwrap.dedent("""\
        version: 1
        source: shop
        verify: {preset: none}
        rules:
          - id: welcome
            campaign: {campaign_id: c1, recipient: {external_user_id: "{% user %}"}}
        """),
    "rules/shop.yaml",
)


def store_key(aws, api_key):
    client = aws.client("secretsmanager")
    value = json.dumps({"api_key": api_key})
    try:
        client.put_secret_value(SecretId=SECRET, SecretString=value)
    except client.exceptions.ResourceNotFoundException:
        client.create_secret(Name=SECRET, SecretString=value)


def new_sender(aws, resources, braze, *, max_age=300, connect_timeout=3.05, read_timeout=10.0):
    settings = DispatchSettings(
        ledger_table=resources.table,
        braze_endpoint=braze.url,
        braze_api_key=f"secretsmanager:{SECRET}#api_key",
        secrets_max_age=max_age,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )
    return build_sender(settings, aws.client("dynamodb"))


def deliver(sender, user):
    reports = sender.send(map_events(RULES, [InboundEvent(body={"user": user}, event_id=f"evt-{user}")]).requests())
    assert len(reports) == 1
    return reports[0]


def statuses(braze):
    return [attempt["status"] for attempt in braze.attempts()]


@pytest.fixture
def braze():
    """A Braze workspace where only `new-key` is valid: `old-key` was rotated out and revoked."""
    with BrazeSandbox(api_keys={"new-key": PERMISSIONS}) as server:
        yield server


def test_a_key_rotated_within_the_max_age_is_fetched_again_on_401_and_retried_once(aws, resources, braze):
    store_key(aws, "old-key")
    sender = new_sender(aws, resources, braze)
    client = sender.client_for(Destination())  # a warm container holding the old key
    assert client.api_key == "old-key"
    store_key(aws, "new-key")

    report = deliver(sender, "u1")
    assert report.status is SendStatus.SENT
    assert statuses(braze) == [401, 201]
    assert sender.ledger.get(report.send.idempotency_key)["state"] == "sent"

    assert deliver(sender, "u2").status is SendStatus.SENT
    assert statuses(braze) == [401, 201, 201]  # the new key is kept: no 401 first any more
    assert sender.client_for(Destination()) is client  # same client, same session


def test_a_401_with_an_unchanged_key_is_not_retried_and_fails_as_before(aws, resources, braze):
    store_key(aws, "old-key")
    sender = new_sender(aws, resources, braze)
    report = deliver(sender, "u1")
    assert report.status is SendStatus.FAILED and report.reason.startswith("HTTP 401")
    assert statuses(braze) == [401]
    assert sender.ledger.get(report.send.idempotency_key)["state"] == "failed"


def test_the_key_is_read_again_once_the_secrets_max_age_has_passed(aws, resources, braze):
    store_key(aws, "old-key")
    sender = new_sender(aws, resources, braze, max_age=1)
    client = sender.client_for(Destination())
    store_key(aws, "new-key")
    time.sleep(1.1)
    assert deliver(sender, "u1").status is SendStatus.SENT
    assert statuses(braze) == [201]  # no 401 first: the cached key had expired
    assert client.api_key == "new-key"


def test_the_retry_after_a_401_fits_in_the_time_of_one_request(aws, resources, braze):
    # The sender's ledger lease covers one request's timeouts; a slow 401 leaves too little for a
    # second request, so the send is released for a retry instead (nothing was sent).
    store_key(aws, "old-key")
    sender = new_sender(aws, resources, braze, connect_timeout=0.5, read_timeout=2.5)
    sender.client_for(Destination())
    store_key(aws, "new-key")
    braze.set_faults(script=["slow"], slow_seconds=2.0)
    report = deliver(sender, "u1")
    assert report.status is SendStatus.RETRY and "not enough time" in report.reason
    assert statuses(braze) == [401]
    assert sender.ledger.get(report.send.idempotency_key) is None  # released
    assert deliver(sender, "u1").status is SendStatus.SENT  # the retried event goes out with the new key
    assert statuses(braze) == [401, 201]


def test_a_secret_that_cannot_be_read_later_keeps_the_current_key(aws, resources):
    store_key(aws, "old-key")
    with BrazeSandbox(api_keys={"old-key": PERMISSIONS}) as braze:
        sender = new_sender(aws, resources, braze, max_age=1)
        assert deliver(sender, "u1").status is SendStatus.SENT
        aws.client("secretsmanager").delete_secret(SecretId=SECRET, ForceDeleteWithoutRecovery=True)
        time.sleep(1.1)
        assert deliver(sender, "u2").status is SendStatus.SENT
        assert statuses(braze) == [201, 201]
