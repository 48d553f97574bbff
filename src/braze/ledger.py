"""The per-send ledger in DynamoDB: one item per idempotency key, claimed before a request leaves.

States::

    claimed --(mark_sending)--> sending --> sent (dispatch_id, sent_at)
       |                           |-----> failed (reason)            re-claimable
       |                           |-----> unknown (request kept)     held for an operator
       '--(release: 429, 5xx, connect error)--> (deleted)             re-claimable

A key can be claimed when it has no item, when its item expired (TTL), when it `failed`, or when a
`claimed` lease ran out (the worker died before the request left) (`claimable` says the same in
Python, for dry runs). An `unknown` item never expires: it waits for an operator however long that
takes, and a `failed` one stays for a whole de-duplication window after it failed. A `sending` item whose lease ran
out means a worker died with the request in flight: Braze may have sent it, so it becomes `unknown`
and is never re-sent by itself, unless the rule said `on_ambiguous: retry`.

Claims, the sending mark and completions are written with TransactWriteItems (up to 100 keys per
round trip); when a transaction is cancelled the keys that could not be written are learned from
the cancellation reasons and the rest are retried, ending in single conditional writes.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

__all__ = ["ClaimRequest", "ClaimResult", "ClaimStatus", "Completion", "Ledger", "LedgerError", "claimable"]

MAX_TRANSACTION_ITEMS = 100
ATTENTION_INDEX = "attention-index"
_TRANSACTION_RETRIES = 3


class LedgerError(Exception):
    """DynamoDB refused or failed a ledger write (throttling after retries, a missing table, ...)."""


class ClaimStatus(StrEnum):
    CLAIMED = "claimed"  # ours: send it
    DUPLICATE = "duplicate"  # already sent: skip
    BUSY = "busy"  # another worker holds a live claim: try again later
    HELD = "held"  # outcome unknown, held for an operator


@dataclass(frozen=True)
class ClaimRequest:
    key: str
    source: str
    rule_id: str
    event_id: str
    rules_version: str | None = None
    retry_unknown: bool = False  # the rule said on_ambiguous: retry


@dataclass(frozen=True)
class ClaimResult:
    status: ClaimStatus
    item: dict[str, Any] | None = None  # the existing item when not claimed
    newly_held: bool = False  # this claim found a dead worker's send in flight and marked it unknown


@dataclass
class Completion:
    """How each claimed key of one request ended."""

    sent: dict[str, dict[str, Any]]  # key -> {"dispatch_id": ..., "notice": ...}
    failed: dict[str, tuple[str, dict[str, Any] | None]]  # key -> (reason, request kept for a re-send)
    unknown: dict[str, dict[str, Any]]  # key -> request kept for `ledger resolve --retry`
    released: list[str]


class Ledger:
    """Idempotency ledger on one DynamoDB table (hash key `pk`).

    Parameters
    ----------
    table:
        Table name.
    client:
        A boto3 DynamoDB client (injected: the caller owns endpoint, retries and credentials).
    ttl_seconds:
        How long a key is remembered (the de-duplication window); default 7 days.
    claim_lease_seconds:
        How long a `claimed` key stays ours before another worker may take it over.
    """

    def __init__(
        self,
        table: str,
        client: Any,
        *,
        ttl_seconds: int = 7 * 24 * 3600,
        claim_lease_seconds: int = 60,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.table = table
        self.client = client
        self.ttl_seconds = ttl_seconds
        self.claim_lease_seconds = claim_lease_seconds
        self.clock = clock

    # --- claims ---------------------------------------------------------------------------------

    def claim(self, requests: list[ClaimRequest]) -> tuple[str, dict[str, ClaimResult]]:
        """Claim keys for sending; returns the owner token and a result per key."""
        token = uuid.uuid4().hex
        now = self.clock()
        operations = {request.key: self._claim_put(request, token, now) for request in requests}
        failures = self._write(operations)
        results: dict[str, ClaimResult] = {}
        for request in requests:
            if request.key not in failures:
                results[request.key] = ClaimResult(ClaimStatus.CLAIMED)
            else:
                results[request.key] = self._why_not_claimed(failures[request.key], now)
        return token, results

    def _claim_put(self, request: ClaimRequest, token: str, now: float) -> dict[str, Any]:
        # Keep in step with `claimable` below.
        condition = (
            "attribute_not_exists(pk) OR expires_at < :now OR #s = :failed OR (#s = :claimed AND lease_until < :now)"
        )
        values: dict[str, Any] = {":now": _n(now), ":failed": _s("failed"), ":claimed": _s("claimed")}
        if request.retry_unknown:
            condition += " OR #s = :unknown OR (#s = :sending AND lease_until < :now)"
            values.update({":unknown": _s("unknown"), ":sending": _s("sending")})
        item = {
            "pk": _s(request.key),
            "state": _s("claimed"),
            "owner": _s(token),
            "lease_until": _n(now + self.claim_lease_seconds),
            "expires_at": _n(int(now + self.ttl_seconds)),
            "source": _s(request.source),
            "rule_id": _s(request.rule_id),
            "event_id": _s(request.event_id),
            "updated_at": _n(now),
        }
        if request.rules_version:
            item["rules_version"] = _s(request.rules_version)
        return {
            "Put": {
                "TableName": self.table,
                "Item": item,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#s": "state"},
                "ExpressionAttributeValues": values,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def _why_not_claimed(self, raw: dict[str, Any] | None, now: float) -> ClaimResult:
        item = _plain(raw) if raw else None
        state = (item or {}).get("state")
        if state == "sent":
            return ClaimResult(ClaimStatus.DUPLICATE, item)
        if state == "unknown":
            return ClaimResult(ClaimStatus.HELD, item)
        if state == "sending" and float(item.get("lease_until", 0)) < now:
            # The worker died with the request in flight: record that the outcome is unknown.
            marked = self._mark_stale_sending_unknown(item["pk"], now)
            return ClaimResult(ClaimStatus.HELD, {**item, "state": "unknown"}, newly_held=marked)
        return ClaimResult(ClaimStatus.BUSY, item)

    def _mark_stale_sending_unknown(self, key: str, now: float) -> bool:
        """False when another worker marked it first (or it changed meanwhile)."""
        try:
            self._call(
                self.client.update_item,
                TableName=self.table,
                Key={"pk": _s(key)},
                UpdateExpression="SET #s = :unknown, attention = :unknown, reason = :why, updated_at = :now "
                "REMOVE #o, lease_until, expires_at",  # held until an operator settles it
                ConditionExpression="#s = :sending AND lease_until < :now",
                ExpressionAttributeNames={"#s": "state", "#o": "owner"},
                ExpressionAttributeValues={
                    ":unknown": _s("unknown"),
                    ":sending": _s("sending"),
                    ":now": _n(now),
                    ":why": _s("the worker stopped while the request was in flight"),
                },
            )
        except ClientError as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise LedgerError(str(exc)) from exc
            return False
        return True

    # --- sending and completion -----------------------------------------------------------------

    def mark_sending(self, token: str, keys: list[str], lease_seconds: float) -> list[str]:
        """Record that the request is about to leave; returns the keys still ours (send only those)."""
        now = self.clock()
        operations = {
            key: self._update(
                key,
                "SET #s = :sending, lease_until = :lease, updated_at = :now",
                {":sending": _s("sending"), ":lease": _n(now + lease_seconds), ":now": _n(now)},
                token,
            )
            for key in keys
        }
        lost = self._write(operations)
        return [key for key in keys if key not in lost]

    def complete(self, token: str, completion: Completion) -> None:
        """Write how each key ended, in as few round trips as possible."""
        now = self.clock()
        operations: dict[str, dict[str, Any]] = {}
        for key, details in completion.sent.items():
            values = {":sent": _s("sent"), ":now": _n(now), ":exp": _n(int(now + self.ttl_seconds))}
            expression = "SET #s = :sent, sent_at = :now, updated_at = :now, expires_at = :exp"
            for name in ("dispatch_id", "notice"):
                if details.get(name):
                    expression += f", {name} = :{name}"
                    values[f":{name}"] = _s(str(details[name]))
            operations[key] = self._update(key, expression + " REMOVE #o, lease_until, attention", values, token)
        for key, (reason, request) in completion.failed.items():
            operations[key] = self._kept(key, "failed", reason, request, token, now)
        for key, request in completion.unknown.items():
            reason = "no response after the request was sent: Braze may have sent it"
            operations[key] = self._kept(key, "unknown", reason, request, token, now)
        for key in completion.released:
            operations[key] = {
                "Delete": {
                    "TableName": self.table,
                    "Key": {"pk": _s(key)},
                    "ConditionExpression": "#o = :token",
                    "ExpressionAttributeNames": {"#o": "owner"},
                    "ExpressionAttributeValues": {":token": _s(token)},
                }
            }
        self._write(operations)

    def _kept(self, key: str, state: str, reason: str, request: dict | None, token: str, now: float) -> dict:
        values = {":st": _s(state), ":why": _s(reason[:1000]), ":now": _n(now)}
        expression = "SET #s = :st, attention = :st, reason = :why, updated_at = :now"
        names = {}
        if request is not None:
            expression += ", #req = :req"
            names["#req"] = "request"  # a reserved word
            values[":req"] = _s(json.dumps(request, separators=(",", ":"), ensure_ascii=False))
        removed = "#o, lease_until"
        if state == "unknown":  # held until an operator settles it: TTL must not make it re-sendable
            removed += ", expires_at"
        else:  # failed: listed (and not re-sent by a stale duplicate) for a whole window from now
            expression += ", expires_at = :exp"
            values[":exp"] = _n(int(now + self.ttl_seconds))
        return self._update(key, f"{expression} REMOVE {removed}", values, token, names)

    def _update(
        self, key: str, expression: str, values: dict[str, Any], token: str, names: dict[str, str] | None = None
    ) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.table,
                "Key": {"pk": _s(key)},
                "UpdateExpression": expression,
                "ConditionExpression": "#o = :token",
                "ExpressionAttributeNames": {"#s": "state", "#o": "owner", **(names or {})},
                "ExpressionAttributeValues": {**values, ":token": _s(token)},
            }
        }

    # --- operator views -------------------------------------------------------------------------

    def get(self, key: str) -> dict[str, Any] | None:
        """The item of one key, as plain values, or None."""
        response = self._call(self.client.get_item, TableName=self.table, Key={"pk": _s(key)}, ConsistentRead=True)
        return _plain(response["Item"]) if "Item" in response else None

    def needing_attention(self, state: str) -> Iterator[dict[str, Any]]:
        """Items in `unknown` or `failed` state, oldest first (a sparse index keeps this cheap)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": ATTENTION_INDEX,
            "KeyConditionExpression": "attention = :st",
            "ExpressionAttributeValues": {":st": _s(state)},
        }
        while True:
            response = self._call(self.client.query, **kwargs)
            yield from (_plain(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def count_needing_attention(self, state: str, limit: int) -> int:
        """How many items are in `state`, up to `limit`: one query page, so its cost stays bounded."""
        response = self._call(
            self.client.query,
            TableName=self.table,
            IndexName=ATTENTION_INDEX,
            KeyConditionExpression="attention = :st",
            ExpressionAttributeValues={":st": _s(state)},
            Select="COUNT",
            Limit=limit,
        )
        return int(response.get("Count", 0))

    def resolve_sent(self, key: str, note: str) -> None:
        """An operator confirmed Braze sent a held send: mark it sent so it is never re-sent."""
        now = self.clock()
        self._call(
            self.client.update_item,
            TableName=self.table,
            Key={"pk": _s(key)},
            UpdateExpression="SET #s = :sent, sent_at = :now, updated_at = :now, reason = :note, expires_at = :exp "
            "REMOVE attention",
            ConditionExpression="#s IN (:unknown, :failed)",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={
                ":sent": _s("sent"),
                ":now": _n(now),
                ":exp": _n(int(now + self.ttl_seconds)),
                ":note": _s(note),
                ":unknown": _s("unknown"),
                ":failed": _s("failed"),
            },
        )

    def release_held(self, key: str) -> bool:
        """An operator found a held send that kept no request was not sent: delete it, so the next
        delivery of its event claims and sends it. False if it is no longer such a send."""
        try:
            self._call(
                self.client.delete_item,
                TableName=self.table,
                Key={"pk": _s(key)},
                ConditionExpression="#s = :unknown AND attribute_not_exists(#req)",
                ExpressionAttributeNames={"#s": "state", "#req": "request"},
                ExpressionAttributeValues={":unknown": _s("unknown")},
            )
        except ClientError:  # `_call` lets only a failed condition through
            return False
        return True

    # --- writing --------------------------------------------------------------------------------

    def _write(self, operations: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any] | None]:
        """Write every operation; returns the keys whose condition failed, with the existing item."""
        failed: dict[str, dict[str, Any] | None] = {}
        pending = dict(operations)
        for _ in range(_TRANSACTION_RETRIES):
            if not pending:
                return failed
            retry: dict[str, dict[str, Any]] = {}
            for chunk in _chunks(list(pending.items()), MAX_TRANSACTION_ITEMS):
                for key, reason in self._transact(chunk).items():
                    if reason["Code"] == "ConditionalCheckFailed":
                        failed[key] = reason.get("Item")
                    else:  # "None" (cancelled because of another item) or a conflict: try again
                        retry[key] = pending[key]
            pending = retry
        for key, operation in pending.items():  # still contended: one conditional write each
            reason = self._single(operation)
            if reason is not None:
                failed[key] = reason.get("Item")
        return failed

    def _transact(self, chunk: list[tuple[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
        """One TransactWriteItems; returns the cancellation reason per key (empty on success)."""
        try:
            self._call(self.client.transact_write_items, TransactItems=[operation for _, operation in chunk])
        except ClientError as exc:
            if _code(exc) != "TransactionCanceledException":
                raise LedgerError(str(exc)) from exc
            reasons = exc.response.get("CancellationReasons") or []
            if len(reasons) != len(chunk):  # no per-item detail: retry them all
                return {key: {"Code": "Unknown"} for key, _ in chunk}
            return {key: reason for (key, _), reason in zip(chunk, reasons, strict=True)}
        return {}

    def _single(self, operation: dict[str, Any]) -> dict[str, Any] | None:
        ((kind, params),) = operation.items()
        call = {"Put": self.client.put_item, "Update": self.client.update_item, "Delete": self.client.delete_item}[kind]
        try:
            self._call(call, **params)
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return {"Code": "ConditionalCheckFailed", "Item": exc.response.get("Item")}
            raise LedgerError(str(exc)) from exc
        return None

    @staticmethod
    def _call(method: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return method(**kwargs)
        except ClientError as exc:
            if _code(exc) in ("TransactionCanceledException", "ConditionalCheckFailedException"):
                raise
            raise LedgerError(f"DynamoDB {method.__name__}: {exc}") from exc


def claimable(item: dict[str, Any] | None, now: float, *, retry_unknown: bool = False) -> bool:
    """Whether `Ledger.claim` would take a key whose (plain) item is `item`: its condition, in Python.

    For dry runs; a real send decides with the conditional write itself.
    """
    if item is None or float(item.get("expires_at", now)) < now:
        return True  # never sent, or forgotten: expiry decides, not when DynamoDB's TTL deletes it
    state, lease_over = item.get("state"), float(item.get("lease_until", now)) < now
    if state == "failed" or (state == "claimed" and lease_over):
        return True
    return retry_unknown and (state == "unknown" or (state == "sending" and lease_over))


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: float) -> dict[str, str]:
    return {"N": repr(round(value, 3)) if isinstance(value, float) else str(value)}


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB's typed attributes as plain values."""
    plain: dict[str, Any] = {}
    for name, typed in item.items():
        ((kind, value),) = typed.items()
        plain[name] = float(value) if kind == "N" else value
    return plain
