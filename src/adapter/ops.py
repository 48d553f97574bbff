"""Operations on a running stack: rules, ledger, DLQ redrive, replay from the archive.

They work the same against the local stack (`make run`; found through `.local/stack.json`) and
against AWS (the normal credential chain, resources read from the CloudFormation stack outputs).
Commands that send (replay, resolve --retry) send to the Braze endpoint the stack itself sends to.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from adapter.settings import DispatchSettings, SettingsError, load_settings

if TYPE_CHECKING:
    from braze.batching import BrazeRequest, Send

__all__ = ["OpsError", "Redriven", "Stack", "UsageError", "connect", "redrive", "replay", "rollback_rules"]

OUTPUTS = {
    "RulesBucketName": "bucket",
    "LedgerTableName": "table",
    "EventsQueueUrl": "queue_url",
    "EventsDeadLetterQueueUrl": "dead_letter_queue_url",
}


DEFAULT_API_KEY = "secretsmanager:braze-adapter/braze#api_key"  # the template's default BrazeApiKeySecret


class OpsError(Exception):
    """An operation cannot run (no stack found, missing resource, bad arguments)."""


class UsageError(OpsError):
    """The operator has to say something the command cannot work out (exit code 2, like bad arguments)."""


@dataclass
class Stack:
    """Where a deployment's resources are, and clients to reach them."""

    bucket: str
    table: str
    queue_url: str
    dead_letter_queue_url: str
    session: Any
    local: bool = False
    name: str = "local"
    # The Braze instance this stack's dispatch function sends to (None: the stack does not say).
    braze_endpoint: str | None = None
    braze_api_key: str | None = None

    def client(self, name: str) -> Any:
        return self.session.client(name)

    def dispatch_settings(self, braze_endpoint: str | None = None) -> DispatchSettings:
        """Settings for sending from this machine (replay, resolve --retry) to this stack's Braze.

        The ledger's `sent` means sent to the stack's own endpoint, so that comes first; only an
        explicit `braze_endpoint` (--braze-endpoint) overrides it, and BRAZE_ADAPTER_BRAZE_ENDPOINT
        only fills in for a stack that does not say.
        """
        try:
            base = load_settings(DispatchSettings)
        except SettingsError as exc:
            raise UsageError(str(exc)) from exc
        endpoint = braze_endpoint or self.braze_endpoint or base.braze_endpoint
        if not endpoint:
            raise UsageError(
                f"stack {self.name!r} has no BrazeEndpoint parameter: pass --braze-endpoint URL "
                "or set BRAZE_ADAPTER_BRAZE_ENDPOINT"
            )
        return replace(
            base,
            ledger_table=self.table,
            rules_bucket=self.bucket,
            queue_url=self.queue_url,
            dead_letter_queue_url=self.dead_letter_queue_url,
            braze_endpoint=endpoint,
            braze_api_key=self.braze_api_key or base.braze_api_key or DEFAULT_API_KEY,
        )


def connect(stack_name: str | None = None) -> Stack:
    """The local stack when `make run` is up (and no stack name is given), else a CloudFormation stack."""
    import boto3

    from adapter.local.stack import read_state

    state = read_state() if stack_name is None else None
    if state is not None:
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
        os.environ["AWS_ENDPOINT_URL"] = state["moto_url"]
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        resources = state["resources"]
        return Stack(
            resources["bucket"],
            resources["table"],
            resources["queue_url"],
            resources["dead_letter_queue_url"],
            boto3.Session(region_name="us-east-1"),
            local=True,
            braze_endpoint=state.get("braze_url"),
            braze_api_key=DEFAULT_API_KEY,  # where the local stack stores its key, in moto
        )
    session = boto3.Session()
    name = stack_name or "braze-adapter"
    try:
        described = session.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    except Exception as exc:
        raise OpsError(
            f"no local stack running (make run) and cannot read CloudFormation stack {name!r}: {exc}"
        ) from exc
    outputs = described.get("Outputs", [])
    found = {OUTPUTS[o["OutputKey"]]: o["OutputValue"] for o in outputs if o["OutputKey"] in OUTPUTS}
    missing = set(OUTPUTS.values()) - set(found)
    if missing:
        raise OpsError(f"stack {name!r} lacks outputs: {', '.join(sorted(missing))}")
    parameters = {p["ParameterKey"]: p.get("ParameterValue") for p in described.get("Parameters", [])}
    secret = parameters.get("BrazeApiKeySecret")
    return Stack(
        session=session,
        name=name,
        braze_endpoint=parameters.get("BrazeEndpoint"),
        braze_api_key=f"secretsmanager:{secret}#api_key" if secret else None,  # as template.yaml builds it
        **found,
    )


# --- rules ------------------------------------------------------------------------------------


def list_rules(stack: Stack, prefix: str = "rules/") -> list[dict[str, Any]]:
    """The published rule files with their current version."""
    s3 = stack.client("s3")
    files = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stack.bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            head = s3.head_object(Bucket=stack.bucket, Key=item["Key"])
            files.append(
                {"key": item["Key"], "version": head.get("VersionId"), "modified": item["LastModified"].isoformat()}
            )
    return files


def rule_versions(stack: Stack, key: str) -> list[dict[str, Any]]:
    """Versions of one rule file, newest first."""
    response = stack.client("s3").list_object_versions(Bucket=stack.bucket, Prefix=key)
    versions = [v for v in response.get("Versions", []) if v["Key"] == key]
    return sorted(versions, key=lambda v: v["LastModified"], reverse=True)


def rollback_rules(stack: Stack, key: str, to_version: str | None = None) -> str:
    """Publish an earlier version of a rule file again (as a new version); returns the new version id."""
    versions = rule_versions(stack, key)
    if len(versions) < 2 and to_version is None:
        raise OpsError(f"{key} has no earlier version to roll back to")
    target = to_version or versions[1]["VersionId"]
    if target not in {v["VersionId"] for v in versions}:
        raise OpsError(f"{key} has no version {target}")
    s3 = stack.client("s3")
    copied = s3.copy_object(
        Bucket=stack.bucket, Key=key, CopySource={"Bucket": stack.bucket, "Key": key, "VersionId": target}
    )
    return copied.get("VersionId", "")


# --- dead-letter queue -----------------------------------------------------------------------------


REDRIVE_HIDE_SECONDS = 300  # how long a received message stays out of sight during a run


@dataclass(frozen=True)
class Redriven:
    moved: int
    came_back: int  # same body as one moved in this run (it failed again): left in the dead-letter queue


def redrive(stack: Stack, limit: int | None = None, progress: Callable[[int], None] | None = None) -> Redriven:
    """Move the messages in the dead-letter queue back to the queue, each at most once per run.

    An event that fails again comes back as a new message (new id) with the same body, because
    dispatch copies the body: so moved bodies are remembered and such copies are left where they
    are. Nothing beyond the depth at the start is moved, so the run ends even while new dead
    letters keep arriving. The `error` and `failed_at` attributes are dropped.
    """
    sqs = stack.client("sqs")
    dlq = stack.dead_letter_queue_url
    depth = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    budget = int(depth["ApproximateNumberOfMessages"])
    if limit is not None:
        budget = min(budget, limit)
    moved_bodies: set[bytes] = set()
    came_back: dict[str, str] = {}  # message id -> latest receipt handle
    while len(moved_bodies) < budget:
        batch = sqs.receive_message(
            QueueUrl=dlq,
            MaxNumberOfMessages=min(10, budget - len(moved_bodies)),
            MessageAttributeNames=["All"],
            WaitTimeSeconds=1,
            VisibilityTimeout=REDRIVE_HIDE_SECONDS,
        ).get("Messages", [])
        if not batch:
            break
        for message in batch:
            body = hashlib.sha256(message["Body"].encode()).digest()
            if body in moved_bodies:
                came_back[message["MessageId"]] = message["ReceiptHandle"]
                continue
            attributes = {
                name: value
                for name, value in (message.get("MessageAttributes") or {}).items()
                if name not in ("error", "failed_at", "not_before")
            }
            sqs.send_message(QueueUrl=stack.queue_url, MessageBody=message["Body"], MessageAttributes=attributes)
            sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
            moved_bodies.add(body)
        if progress:
            progress(len(moved_bodies))
    # Show the copies that came back again now, for `receive-message` and the depth alarm (if this
    # is never reached, they reappear after REDRIVE_HIDE_SECONDS anyway).
    handles = list(came_back.values())
    for start in range(0, len(handles), 10):
        chunk = handles[start : start + 10]
        entries = [{"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0} for i, h in enumerate(chunk)]
        sqs.change_message_visibility_batch(QueueUrl=dlq, Entries=entries)
    return Redriven(len(moved_bodies), len(came_back))


# --- replay ------------------------------------------------------------------------------------


def archived_events(stack: Stack, source: str, start: date, end: date) -> Iterator[dict[str, Any]]:
    """Archived requests of `source` received between `start` and `end` (inclusive days)."""
    s3 = stack.client("s3")
    day = start
    while day <= end:
        prefix = f"archive/{source}/{day.isoformat()}/"
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stack.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield json.loads(s3.get_object(Bucket=stack.bucket, Key=item["Key"])["Body"].read())
        day += timedelta(days=1)


def replay(
    stack: Stack,
    source: str,
    start: date,
    end: date,
    *,
    dry_run: bool,
    braze_endpoint: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Map archived events with the current rules and send what the ledger has not sent yet.

    With `dry_run` nothing is sent: the Braze requests are returned with, per idempotency key,
    whether a real replay would send it now (`would_send`).
    """
    import base64

    from mapping.engine import map_events
    from mapping.events import InboundEvent
    from mapping.ruleset import parse_ruleset
    from sources.body import parse_body

    settings = None if dry_run else stack.dispatch_settings(braze_endpoint)  # before any work: it may refuse
    ruleset = _current_rules(stack, source, parse_ruleset)
    events = []
    for record in archived_events(stack, source, start, end):
        raw = base64.b64decode(record["body_base64"]) if "body_base64" in record else record["body"].encode()
        headers = record.get("headers") or {}
        events.append(
            InboundEvent(
                body=parse_body(raw, headers.get("content-type")),
                raw=raw,
                headers=headers,
                query=record.get("query") or {},
                received_at=record.get("received_at"),
                event_id=record["event_id"],
                event_type=record.get("event_type"),
                label=record["event_id"],
            )
        )
        if progress:
            progress(len(events))
    result = map_events(ruleset, events)
    requests = result.requests()
    summary: dict[str, Any] = {"events": len(events), "errors": [e.to_json() for e in result.errors]}
    if settings is None:
        summary["requests"] = _planned(stack, requests)
        summary["would_send"] = sum(flag for r in summary["requests"] for flag in r["would_send"])
        return summary
    from adapter.delivery import build_sender

    reports = build_sender(settings, stack.client("dynamodb")).send(requests)
    counts: dict[str, int] = {}
    for report in reports:
        counts[report.status.value] = counts.get(report.status.value, 0) + 1
    summary["sends"] = counts
    return summary


def _planned(stack: Stack, requests: list[BrazeRequest]) -> list[dict[str, Any]]:
    """Each request with, per key, whether a real replay would send it now."""
    from braze.ledger import Ledger

    ledger = Ledger(stack.table, stack.client("dynamodb"))
    now = time.time()
    return [
        {**request.to_json(), "would_send": [would_send(ledger.get(s.idempotency_key), s, now) for s in request.sends]}
        for request in requests
    ]


def would_send(item: dict[str, Any] | None, send: Send, now: float) -> bool:
    """Whether sending `send` now would claim its ledger `item` (the dry run's answer)."""
    from braze.ledger import claimable

    return claimable(item, now, retry_unknown=send.on_ambiguous == "retry")


def _current_rules(stack: Stack, source: str, parse: Callable[..., Any]) -> Any:
    s3 = stack.client("s3")
    for suffix in (".yaml", ".yml", ".json"):
        key = f"rules/{source}{suffix}"
        try:
            response = s3.get_object(Bucket=stack.bucket, Key=key)
        except s3.exceptions.NoSuchKey:
            continue
        return parse(response["Body"].read().decode(), key, version=response.get("VersionId"), check_files=False)
    raise OpsError(f"no published rule file for source {source!r}")


# --- ledger ------------------------------------------------------------------------------------


ARCHIVE_DAYS = 30  # the archive's expire-archive lifecycle rule


def resolve(stack: Stack, key: str, *, sent: bool, braze_endpoint: str | None = None) -> str:
    """Settle a held (`unknown`) or `failed` send: record it as sent, or send it again.

    Sending again uses the kept request; a send without one (its worker died mid-request) is
    released instead, to be sent by the next replay or redrive of its event.
    """
    from braze.batching import BrazeRequest, Destination, Send
    from braze.ledger import Ledger

    ledger = Ledger(stack.table, stack.client("dynamodb"))
    item = ledger.get(key)
    if item is None:
        raise OpsError(f"no ledger entry {key}")
    if item.get("state") not in ("unknown", "failed"):
        raise OpsError(f"{key} is {item.get('state')}; only unknown or failed sends can be resolved")
    if sent:
        ledger.resolve_sent(key, "resolved by an operator: Braze sent it")
        return "marked sent"
    if "request" not in item:
        if item["state"] == "unknown" and not ledger.release_held(key):
            raise OpsError(f"{key} changed meanwhile; look at it again with `ledger show`")
        how = _how_to_send_again(stack, item)
        return f"released {key}: it kept no request, so the next replay or redrive of its event sends it\n{how}"
    kept = json.loads(item["request"])
    send = Send(
        path=kept["path"],
        body=kept["body"],
        recipient=kept["recipient"],
        idempotency_key=key,
        source=item.get("source", ""),
        rule_id=item.get("rule_id", ""),
        event_id=item.get("event_id", ""),
        destination=Destination(**kept.get("destination") or {}),
        on_ambiguous="retry",  # the operator decided: a possible duplicate is accepted
    )
    from adapter.delivery import build_sender

    sender = build_sender(stack.dispatch_settings(braze_endpoint), stack.client("dynamodb"))
    report = sender.send([BrazeRequest(send.path, send.destination, send.body, [send])])[0]
    return f"{report.status.value}: {report.reason}" if report.reason else report.status.value


def _how_to_send_again(stack: Stack, item: dict[str, Any]) -> str:
    """The command that sends a released key: replay of the day its webhook was archived, if it was."""
    from botocore.exceptions import ClientError

    from adapter.ingress import archive_key

    source, event_id = item.get("source", ""), item.get("event_id", "")
    s3 = stack.client("s3")
    # The event was archived before its send was last updated: look back from then, as far as the archive keeps.
    last = datetime.fromtimestamp(item.get("updated_at", time.time()), UTC).date()
    for back in range(ARCHIVE_DAYS + 1):
        day = (last - timedelta(days=back)).isoformat()
        try:
            s3.head_object(Bucket=stack.bucket, Key=archive_key("archive/", source, day, event_id))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                continue
            raise OpsError(f"cannot look for event {event_id} in the archive: {exc}") from exc
        target = "" if stack.local else f" --stack {stack.name}"
        command = f"braze-adapter replay --source {source} --from {day} --to {day}{target}"
        return f"send it: {command} --dry-run, then the same without --dry-run"
    return (
        f"event {event_id} of {source} is not in the archive (it came from a queue producer, or is older "
        f"than {ARCHIVE_DAYS} days): redrive it if it is in the dead-letter queue, or have its producer send it again"
    )
