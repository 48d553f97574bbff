"""Operations commands (replay, redrive, ledger resolve) against a real moto server and Braze sandboxes.

"AWS" is a CloudFormation stack in moto whose outputs name the test's resources. The local stack
that `make run` would leave behind is a state file pointing at another sandbox: nothing meant
for AWS may ever reach it.
"""

from __future__ import annotations

import json
import textwrap
import time

import pytest

from adapter import ops
from adapter.cli import main
from adapter.ingress import archive_key
from adapter.local.lambda_runtime import load_handler
from adapter.local.poller import QueuePoller
from braze.ledger import Ledger
from braze.sandbox import BrazeSandbox, parse_api_keys
from mapping.engine import map_events
from mapping.events import InboundEvent
from mapping.ruleset import parse_ruleset
from sources.envelope import build_envelope

pytestmark = pytest.mark.integration

DAY = "2026-11-30"
RULES = textwrap.dedent("""\
    version: 1
    source: shop
    verify: {preset: none}
    rules:
      - id: welcome
        on_ambiguous: {ambiguous}
        campaign:
          campaign_id: c1
          recipient: {external_user_id: "{% user %}"}
    """)


@pytest.fixture(autouse=True)
def no_braze_settings(monkeypatch):
    for name in (
        "BRAZE_ADAPTER_BRAZE_ENDPOINT",
        "BRAZE_ADAPTER_BRAZE_API_KEY",
        "BRAZE_REST_ENDPOINT",
        "BRAZE_ADAPTER_LOCAL_STATE",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def shop(resources, aws):
    """The resources with a published `shop` rule file and Braze keys in Secrets Manager."""
    publish(aws, resources)
    secrets = aws.client("secretsmanager")
    secrets.create_secret(Name="braze-adapter/braze", SecretString=json.dumps({"api_key": "sandbox-key"}))
    secrets.create_secret(Name="prod/braze", SecretString=json.dumps({"api_key": "prod-key"}))
    return resources


@pytest.fixture
def production():
    """The Braze instance the AWS stack sends to: it only accepts the production key."""
    server = BrazeSandbox(api_keys=parse_api_keys(["prod-key"])).start()
    yield server
    server.stop()


@pytest.fixture
def local_stack_up(shop, sandbox, moto_endpoint, tmp_path, monkeypatch):
    """The state file `make run` writes (or left behind), pointing at the local sandbox."""
    state = tmp_path / "stack.json"
    state.write_text(json.dumps({"moto_url": moto_endpoint, "braze_url": sandbox.url, "resources": shop.__dict__}))
    monkeypatch.setenv("BRAZE_ADAPTER_LOCAL_STATE", str(state))
    return sandbox


def publish(aws, resources, ambiguous="hold"):
    body = RULES.replace("{ambiguous}", ambiguous).encode()
    aws.client("s3").put_object(Bucket=resources.bucket, Key="rules/shop.yaml", Body=body)


def aws_stack(aws, resources, name="prod", **parameters):
    """A CloudFormation stack with the template's outputs and the given parameters."""
    outputs = {
        "RulesBucketName": resources.bucket,
        "LedgerTableName": resources.table,
        "EventsQueueUrl": resources.queue_url,
        "EventsDeadLetterQueueUrl": resources.dead_letter_queue_url,
    }
    template = {
        "Parameters": {key: {"Type": "String", "Default": value} for key, value in parameters.items()},
        "Resources": {"Placeholder": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    aws.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))
    return name


def archive(aws, resources, user, day=DAY):
    """Archive a webhook for `user` the way ingress does; returns its event id."""
    event_id = f"evt-{user}"
    record = {
        "source": "shop",
        "event_id": event_id,
        "received_at": f"{day}T10:00:00Z",
        "headers": {"content-type": "application/json"},
        "query": {},
        "body": json.dumps({"user": user}),
    }
    key = archive_key("archive/", "shop", day, event_id)
    aws.client("s3").put_object(Bucket=resources.bucket, Key=key, Body=json.dumps(record).encode())
    return event_id


def key_of(user, ambiguous="hold"):
    ruleset = parse_ruleset(RULES.replace("{ambiguous}", ambiguous), "rules/shop.yaml")
    [request] = map_events(ruleset, [InboundEvent(body={"user": user}, event_id=f"evt-{user}")]).requests()
    return request.idempotency_keys[0]


def recipients(server):
    return [r["external_user_id"] for request in server.requests() for r in request["body"]["recipients"]]


def replay(*extra):
    return main(["replay", "--source", "shop", "--from", DAY, "--to", DAY, *extra])


# --- 1. sending commands send to the targeted stack's Braze -------------------------------------


def test_replay_against_aws_sends_to_the_stacks_braze_while_a_local_stack_is_up(
    aws, shop, local_stack_up, production, capsys
):
    stack = aws_stack(aws, shop, BrazeEndpoint=production.url, BrazeApiKeySecret="prod/braze")
    archive(aws, shop, "u1")
    assert replay("--stack", stack) == 0
    assert json.loads(capsys.readouterr().out)["sends"] == {"sent": 1}
    assert recipients(production) == ["u1"]  # with the production key: it accepts no other
    assert local_stack_up.attempts() == []


@pytest.mark.parametrize("local_up", [True, False], ids=["local-stack-up", "no-local-stack"])
def test_sending_commands_without_a_braze_endpoint_exit_2_with_one_line(
    aws, shop, sandbox, moto_endpoint, tmp_path, monkeypatch, capsys, local_up
):
    if local_up:
        state = tmp_path / "stack.json"
        state.write_text(json.dumps({"moto_url": moto_endpoint, "braze_url": sandbox.url, "resources": shop.__dict__}))
        monkeypatch.setenv("BRAZE_ADAPTER_LOCAL_STATE", str(state))
    stack = aws_stack(aws, shop)  # a stack that does not say where Braze is
    archive(aws, shop, "u1")
    ledger = Ledger(shop.table, aws.client("dynamodb"))
    token, _ = ledger.claim([ops_claim(key_of("u2"))])  # a failed send with its kept request
    ledger.complete(token, failed_completion(key_of("u2")))
    capsys.readouterr()

    for command in (
        ["replay", "--source", "shop", "--from", DAY, "--to", DAY, "--stack", stack],
        ["ledger", "resolve", key_of("u2"), "--retry", "--stack", stack],
    ):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert err == (
            "braze-adapter: stack 'prod' has no BrazeEndpoint parameter: pass --braze-endpoint URL "
            "or set BRAZE_ADAPTER_BRAZE_ENDPOINT\n"
        )
    assert sandbox.attempts() == []
    assert ledger.get(key_of("u1")) is None and ledger.get(key_of("u2"))["state"] == "failed"


def test_an_explicit_endpoint_fills_in_and_the_stacks_own_beats_a_stray_variable(
    aws, shop, sandbox, production, monkeypatch, capsys
):
    bare = aws_stack(aws, shop, "bare", BrazeApiKeySecret="prod/braze")
    archive(aws, shop, "u1")
    assert replay("--stack", bare, "--braze-endpoint", production.url) == 0
    monkeypatch.setenv("BRAZE_ADAPTER_BRAZE_ENDPOINT", production.url)
    archive(aws, shop, "u2")
    assert replay("--stack", bare) == 0
    assert recipients(production) == ["u1", "u2"]

    # a variable left over from another environment does not redirect a stack that says where Braze is
    monkeypatch.setenv("BRAZE_ADAPTER_BRAZE_ENDPOINT", sandbox.url)
    stack = aws_stack(aws, shop, BrazeEndpoint=production.url, BrazeApiKeySecret="prod/braze")
    archive(aws, shop, "u3")
    assert replay("--stack", stack) == 0
    assert recipients(production) == ["u1", "u2", "u3"] and sandbox.attempts() == []


def test_the_local_stack_sends_to_its_own_braze(aws, shop, local_stack_up, capsys):
    archive(aws, shop, "u1")
    assert replay() == 0
    assert recipients(local_stack_up) == ["u1"]


# --- 2. redrive moves each dead-lettered message at most once per run ---------------------------


@pytest.fixture
def dispatch(shop, sandbox, aws, monkeypatch):
    """The real dispatch handler on the test's queue, one batch per `poll_once()`."""
    monkeypatch.setenv("SANDBOX_API_KEY", "sandbox-key")
    for name, value in {
        **shop.environment(),
        "BRAZE_ADAPTER_BRAZE_ENDPOINT": sandbox.url,
        "BRAZE_ADAPTER_BRAZE_API_KEY": "env:SANDBOX_API_KEY",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    import handlers.dispatch

    monkeypatch.setattr(handlers.dispatch, "_dispatcher", None)
    sqs = aws.client("sqs")
    arn = sqs.get_queue_attributes(QueueUrl=shop.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return QueuePoller(sqs, shop.queue_url, arn, load_handler("handlers.dispatch.lambda_handler"), batching_window=0)


def dead_letter(aws, resources, user):
    """A webhook event in the dead-letter queue, as dispatch leaves it."""
    event_id = f"evt-{user}"
    body = build_envelope(
        source="shop",
        event_id=event_id,
        event_type=None,
        received_at=f"{DAY}T10:00:00Z",
        headers={"content-type": "application/json"},
        query={},
        raw=json.dumps({"user": user}).encode(),
        archive_key=archive_key("archive/", "shop", DAY, event_id),
    )
    attributes = {"source": "shop", "event_id": event_id, "error": "send welcome to external_user_id: ..."}
    aws.client("sqs").send_message(
        QueueUrl=resources.dead_letter_queue_url,
        MessageBody=body,
        MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    )


def visible(aws, url):
    attributes = aws.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


@pytest.mark.parametrize("limit", [5, None], ids=["max-5", "no-max"])
def test_redrive_moves_an_event_that_keeps_failing_once(aws, shop, sandbox, dispatch, limit):
    dead_letter(aws, shop, "sandbox-reject-1")  # Braze refuses this recipient every time
    stack = ops.connect(aws_stack(aws, shop, BrazeEndpoint=sandbox.url))
    # dispatch runs between redrive's batches, so a copy that fails again is back before the next one
    result = ops.redrive(stack, limit, progress=lambda moved: dispatch.poll_once(wait=1))
    assert result.moved == 1
    assert [a["status"] for a in sandbox.attempts()] == [201]  # one Braze call, refused per recipient
    assert visible(aws, shop.dead_letter_queue_url) == 1  # back in the dead-letter queue, once


def test_redrive_leaves_a_body_it_already_moved_in_the_dead_letter_queue(aws, shop, sandbox, capsys):
    dead_letter(aws, shop, "u1")
    dead_letter(aws, shop, "u1")  # the same event again: like a copy of a moved one that failed again
    dead_letter(aws, shop, "u2")
    stack = aws_stack(aws, shop, BrazeEndpoint=sandbox.url)
    assert main(["redrive", "--stack", stack]) == 0
    out = capsys.readouterr().out
    assert "moved 2 message(s)" in out and "1 of them failed again and stay in the dead-letter queue" in out
    assert visible(aws, shop.queue_url) == 2
    assert visible(aws, shop.dead_letter_queue_url) == 1  # visible again at once, not after a timeout


def test_redrive_stops_at_the_depth_it_started_with(aws, shop, sandbox):
    for user in ("u1", "u2", "u3"):
        dead_letter(aws, shop, user)
    stack = ops.connect(aws_stack(aws, shop, BrazeEndpoint=sandbox.url))
    arrivals = iter(["new-1", "new-2"])  # new dead letters while it runs

    def progress(moved):
        user = next(arrivals, None)
        if user:
            dead_letter(aws, shop, user)

    assert ops.redrive(stack, progress=progress).moved == 3
    assert visible(aws, shop.dead_letter_queue_url) >= 1


# --- 3. a held send without a kept request can always be sent ----------------------------------


def ops_claim(key, user="u2"):
    from braze.ledger import ClaimRequest

    return ClaimRequest(key=key, source="shop", rule_id="welcome", event_id=f"evt-{user}")


def failed_completion(key):
    from braze.ledger import Completion

    kept = {"path": "/campaigns/trigger/send", "destination": {}, "body": {"campaign_id": "c1"}, "recipient": {}}
    return Completion(sent={}, failed={key: ("HTTP 400: Invalid Campaign ID", kept)}, unknown={}, released=[])


def die_mid_request(aws, resources, user):
    """A dispatch worker that claimed the send, marked it sending, and died before the answer."""
    ledger = Ledger(resources.table, aws.client("dynamodb"), clock=lambda: time.time() - 3600)
    token, _ = ledger.claim([ops_claim(key_of(user), user)])
    assert ledger.mark_sending(token, [key_of(user)], lease_seconds=60) == [key_of(user)]


def test_resolve_retry_releases_a_held_send_without_a_request_and_the_printed_replay_sends_it(
    aws, shop, sandbox, capsys
):
    stack = aws_stack(aws, shop, BrazeEndpoint=sandbox.url)
    archive(aws, shop, "u1")
    die_mid_request(aws, shop, "u1")
    assert replay("--stack", stack) == 0  # the next delivery finds it in flight: held, not sent
    assert json.loads(capsys.readouterr().out)["sends"] == {"held": 1}
    ledger = Ledger(shop.table, aws.client("dynamodb"))
    held = ledger.get(key_of("u1"))
    assert held["state"] == "unknown" and "request" not in held

    assert main(["ledger", "resolve", key_of("u1"), "--retry", "--stack", stack]) == 0
    released, how = capsys.readouterr().out.strip().splitlines()
    assert released.startswith(f"released {key_of('u1')}: it kept no request")
    command = f"braze-adapter replay --source shop --from {DAY} --to {DAY} --stack prod"
    assert how == f"send it: {command} --dry-run, then the same without --dry-run"
    assert ledger.get(key_of("u1")) is None

    assert main([*command.split()[1:], "--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["would_send"] == 1
    assert main(command.split()[1:]) == 0
    assert json.loads(capsys.readouterr().out)["sends"] == {"sent": 1}
    assert recipients(sandbox) == ["u1"] and ledger.get(key_of("u1"))["state"] == "sent"
    assert main(command.split()[1:]) == 0  # sent now: never again
    assert json.loads(capsys.readouterr().out)["sends"] == {"duplicate": 1}
    assert recipients(sandbox) == ["u1"]


def test_resolve_retry_of_an_event_that_is_not_archived_says_how_else_to_send_it(aws, shop, sandbox, capsys):
    stack = aws_stack(aws, shop, BrazeEndpoint=sandbox.url)
    die_mid_request(aws, shop, "u1")
    Ledger(shop.table, aws.client("dynamodb")).claim([ops_claim(key_of("u1"), "u1")])  # -> unknown
    assert main(["ledger", "resolve", key_of("u1"), "--retry", "--stack", stack]) == 0
    how = capsys.readouterr().out.strip().splitlines()[-1]
    assert how.startswith("event evt-u1 of shop is not in the archive")
    assert "redrive it if it is in the dead-letter queue" in how


def test_release_never_touches_a_sent_or_kept_send(aws, shop):
    ledger = Ledger(shop.table, aws.client("dynamodb"))
    key = key_of("u2")
    token, _ = ledger.claim([ops_claim(key)])
    ledger.complete(token, failed_completion(key))
    assert ledger.release_held(key) is False  # failed, with its request: stays
    ledger.resolve_sent(key, "an operator saw it in Braze")
    assert ledger.release_held(key) is False  # sent: stays sent
    assert ledger.get(key)["state"] == "sent"


# --- 4. the dry run says what a real replay does -------------------------------------------------

LEDGER_STATES = {  # user -> the ledger item of its send before the replay (None: no item)
    "none": None,
    "sent": {"state": "sent"},
    "sent_expired": {"state": "sent", "expired": True},
    "failed": {"state": "failed"},
    "unknown": {"state": "unknown"},
    "unknown_expired": {"state": "unknown", "expired": True},
    "claimed": {"state": "claimed", "lease": 600},
    "claimed_stale": {"state": "claimed", "lease": -10},
    "sending": {"state": "sending", "lease": 600},
    "sending_stale": {"state": "sending", "lease": -10},
}
SENT_BY_REPLAY = {
    "hold": {"none", "sent_expired", "failed", "unknown_expired", "claimed_stale"},
    "retry": {"none", "sent_expired", "failed", "unknown_expired", "claimed_stale", "unknown", "sending_stale"},
}


@pytest.mark.parametrize("ambiguous", ["hold", "retry"])
def test_dry_run_agrees_with_a_real_replay_in_every_ledger_state(aws, shop, sandbox, capsys, ambiguous):
    publish(aws, shop, ambiguous)
    dynamodb = aws.client("dynamodb")
    now = time.time()
    for user, spec in LEDGER_STATES.items():
        archive(aws, shop, user)
        if spec is None:
            continue
        expires = now - 10 if spec.get("expired") else now + 3600  # expired, but not deleted yet
        item = {
            "pk": {"S": key_of(user, ambiguous)},
            "state": {"S": spec["state"]},
            "expires_at": {"N": str(int(expires))},
            "owner": {"S": "a-worker"},
        }
        if "lease" in spec:
            item["lease_until"] = {"N": str(now + spec["lease"])}
        dynamodb.put_item(TableName=shop.table, Item=item)
    stack = aws_stack(aws, shop, BrazeEndpoint=sandbox.url)

    assert replay("--stack", stack, "--dry-run") == 0
    dry = json.loads(capsys.readouterr().out)
    predicted = {
        request["body"]["recipients"][i]["external_user_id"]
        for request in dry["requests"]
        for i, flag in enumerate(request["would_send"])
        if flag
    }
    assert predicted == SENT_BY_REPLAY[ambiguous] and dry["would_send"] == len(predicted)
    assert sandbox.attempts() == []

    assert replay("--stack", stack) == 0
    assert json.loads(capsys.readouterr().out)["sends"]["sent"] == len(predicted)
    assert set(recipients(sandbox)) == predicted
