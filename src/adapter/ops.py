"""Operations on a running stack: rules, ledger, DLQ redrive, replay from the archive.

They work the same against the local stack (`make run`; found through `.local/stack.json`) and
against AWS (the normal credential chain, resources read from the CloudFormation stack outputs).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from adapter.settings import DispatchSettings, load_settings

__all__ = ["Stack", "connect", "redrive", "replay", "rollback_rules"]

OUTPUTS = {
    "RulesBucketName": "bucket",
    "LedgerTableName": "table",
    "EventsQueueUrl": "queue_url",
    "EventsDeadLetterQueueUrl": "dead_letter_queue_url",
}


class OpsError(Exception):
    """An operation cannot run (no stack found, missing resource, bad arguments)."""


@dataclass
class Stack:
    """Where a deployment's resources are, and clients to reach them."""

    bucket: str
    table: str
    queue_url: str
    dead_letter_queue_url: str
    session: Any
    local: bool = False

    def client(self, name: str) -> Any:
        return self.session.client(name)

    def dispatch_settings(self) -> DispatchSettings:
        """Dispatch settings for sending from this machine (replay, resolve --retry)."""
        base = load_settings(DispatchSettings)
        from dataclasses import replace

        return replace(
            base,
            ledger_table=self.table,
            rules_bucket=self.bucket,
            queue_url=self.queue_url,
            dead_letter_queue_url=self.dead_letter_queue_url,
            braze_endpoint=base.braze_endpoint or os.environ.get("BRAZE_REST_ENDPOINT") or _local_braze(),
            braze_api_key=base.braze_api_key or "secretsmanager:braze-adapter/braze#api_key",
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
        )
    session = boto3.Session()
    name = stack_name or "braze-adapter"
    try:
        outputs = session.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0].get("Outputs", [])
    except Exception as exc:
        raise OpsError(
            f"no local stack running (make run) and cannot read CloudFormation stack {name!r}: {exc}"
        ) from exc
    found = {OUTPUTS[o["OutputKey"]]: o["OutputValue"] for o in outputs if o["OutputKey"] in OUTPUTS}
    missing = set(OUTPUTS.values()) - set(found)
    if missing:
        raise OpsError(f"stack {name!r} lacks outputs: {', '.join(sorted(missing))}")
    return Stack(session=session, **found)


def _local_braze() -> str | None:
    from adapter.local.stack import read_state

    state = read_state()
    return state["braze_url"] if state else None


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


def redrive(stack: Stack, limit: int | None = None, progress: Callable[[int], None] | None = None) -> int:
    """Move dead-lettered messages back to the queue (their `error` attribute is dropped)."""
    sqs = stack.client("sqs")
    moved = 0
    while limit is None or moved < limit:
        batch = sqs.receive_message(
            QueueUrl=stack.dead_letter_queue_url,
            MaxNumberOfMessages=min(10, (limit - moved) if limit else 10),
            MessageAttributeNames=["All"],
            WaitTimeSeconds=1,
        ).get("Messages", [])
        if not batch:
            break
        for message in batch:
            attributes = {
                name: value
                for name, value in (message.get("MessageAttributes") or {}).items()
                if name not in ("error", "failed_at", "not_before")
            }
            sqs.send_message(QueueUrl=stack.queue_url, MessageBody=message["Body"], MessageAttributes=attributes)
            sqs.delete_message(QueueUrl=stack.dead_letter_queue_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
        if progress:
            progress(moved)
    return moved


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
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Map archived events with the current rules and send what the ledger has not sent yet.

    With `dry_run` nothing is sent: the Braze requests are returned with, per idempotency key,
    whether the ledger already has it as sent.
    """
    import base64

    from braze.ledger import Ledger
    from mapping.engine import map_events
    from mapping.events import InboundEvent
    from mapping.ruleset import parse_ruleset
    from sources.body import parse_body

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
    if dry_run:
        ledger = Ledger(stack.table, stack.client("dynamodb"))
        summary["requests"] = [
            {
                **request.to_json(),
                "already_sent": [(ledger.get(key) or {}).get("state") == "sent" for key in request.idempotency_keys],
            }
            for request in requests
        ]
        return summary
    from adapter.delivery import build_sender

    reports = build_sender(stack.dispatch_settings(), stack.client("dynamodb")).send(requests)
    counts: dict[str, int] = {}
    for report in reports:
        counts[report.status.value] = counts.get(report.status.value, 0) + 1
    summary["sends"] = counts
    return summary


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


def resolve(stack: Stack, key: str, *, sent: bool) -> str:
    """Settle a held (`unknown`) or `failed` send: record it as sent, or send its kept request again."""
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
        raise OpsError(f"{key} has no kept request to send again; replay its event instead")
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

    sender = build_sender(stack.dispatch_settings(), stack.client("dynamodb"))
    report = sender.send([BrazeRequest(send.path, send.destination, send.body, [send])])[0]
    return f"{report.status.value}: {report.reason}" if report.reason else report.status.value
