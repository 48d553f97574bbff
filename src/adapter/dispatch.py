"""Dispatch: map a whole SQS batch at once, send through the ledger, decide per message.

All events of a batch are mapped together so sends for one campaign share Braze requests across
events. Each message then ends one way:

* done: deleted (sent, already sent, or held for an operator);
* retry: left on the queue with a visibility delay (exponential, or until the rate-limit reset);
  a rate-limited message is re-queued as a fresh copy instead, so waiting for Braze's budget never
  counts towards the queue's maxReceiveCount;
* dead letter: copied to the DLQ with the reason in its message attributes, then deleted.

A broken message never fails its neighbours.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from adapter.observability import Metric, count, count_by, gauge, logger
from adapter.settings import DispatchSettings
from braze.batching import Send, build_requests
from braze.ledger import LedgerError
from braze.sender import EventDecision, EventResult, Sender, SendReport, SendStatus, summarize
from mapping.engine import MappingFailure, map_events
from mapping.events import InboundEvent
from mapping.exceptions import RuleFileError
from mapping.ruleset import RuleSet
from mapping.store import RuleStore, StoreError, UnknownSourceError
from sources.body import parse_body
from sources.envelope import EnvelopeError, QueuedEvent, parse_message

__all__ = ["Dispatcher", "MessageOutcome", "build_dispatcher"]

NOT_BEFORE = "not_before"  # message attribute: epoch seconds before which Braze is not asked again
MAX_SQS_DELAY = 900
MAX_VISIBILITY = 43_200
HELD_CHECK_SECONDS = 60  # each container counts held sends (one ledger query) at most this often
HELD_COUNT_LIMIT = 1000  # the gauge says "1000" for 1000 or more: only > 0 matters to the alarm


@dataclass(frozen=True)
class MessageOutcome:
    message_id: str
    decision: EventDecision
    reason: str = ""
    delay: int = 0


@dataclass
class _Parsed:
    record: dict[str, Any]
    event: QueuedEvent | None = None
    inbound: InboundEvent | None = None
    problem: str | None = None  # dead-letter reason found before mapping
    retry: str | None = None  # retry reason found before mapping (S3 or rules unavailable)


class Dispatcher:
    """Turns SQS records into Braze sends (see the module docstring for the decisions)."""

    def __init__(
        self,
        settings: DispatchSettings,
        store: RuleStore[RuleSet],
        sender: Sender,
        s3: Any,
        sqs: Any,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.store = store
        self.sender = sender
        self.s3 = s3
        self.sqs = sqs
        self.clock = clock
        self._held_checked_at: float | None = None

    def handle(self, records: Sequence[dict[str, Any]], deadline: float | None = None) -> list[MessageOutcome]:
        """Process one batch; applies DLQ copies, re-queues and visibility delays, returns decisions."""
        parsed = [self._parse(record) for record in records]
        waiting = self._still_rate_limited(parsed)
        sends, failures, origin = self._map(parsed, waiting)
        reports = self.sender.send(build_requests(sends), deadline=deadline) if sends else []
        results = summarize(len(parsed), reports, failures)
        self._count(reports, failures)
        outcomes = []
        for index, item in enumerate(parsed):
            result = results[index]
            if item.problem:
                result = EventResult(index, EventDecision.DEAD_LETTER, item.problem)
            elif item.retry:
                result = EventResult(index, EventDecision.RETRY, item.retry)
            elif index in waiting:
                result = EventResult(
                    index, EventDecision.RETRY, "waiting for the Braze rate-limit reset", waiting[index]
                )
            outcomes.append(self._apply(item.record, result, origin.get(index)))
        self._count_events(parsed, outcomes)
        self._publish_held(sum(r.status is SendStatus.HELD and r.newly_held for r in reports), deadline)
        return outcomes

    # --- parsing --------------------------------------------------------------------------------

    def _parse(self, record: dict[str, Any]) -> _Parsed:
        item = _Parsed(record)
        try:
            item.event = parse_message(record.get("body", ""), record.get("messageAttributes"))
        except EnvelopeError as exc:
            item.problem = f"unreadable message: {exc}"
            return item
        try:
            if item.event.raw is None:
                item.event = self._from_archive(item.event)
            event = item.event
            raw = event.raw
            body = event.body if event.body is not None else parse_body(raw, event.headers.get("content-type"))
        except StoreError as exc:
            item.retry = str(exc)
            return item
        except Exception as exc:  # a body ingress accepted but we cannot parse: keep it for a human
            item.problem = f"unreadable body: {exc}"
            return item
        item.inbound = InboundEvent(
            body=body,
            raw=raw,
            headers=event.headers,
            query=event.query,
            received_at=event.received_at or _iso(self.clock()),
            event_id=event.event_id,
            event_type=event.event_type,
            label=record.get("messageId", ""),
        )
        return item

    def _from_archive(self, event: QueuedEvent) -> QueuedEvent:
        """`event` with its body, and what a reference-only envelope leaves out, from the archive record."""
        key = event.archive_key
        try:
            record = json.loads(self.s3.get_object(Bucket=self.settings.rules_bucket, Key=key)["Body"].read())
        except Exception as exc:
            raise StoreError(f"cannot read archived body {key}: {exc}") from exc
        if "body_base64" in record:
            import base64

            raw = base64.b64decode(record["body_base64"])
        else:
            raw = str(record.get("body", "")).encode()
        # Ingress archives the same (redacted) headers, query and type it would have put in the envelope.
        return dataclasses.replace(
            event,
            raw=raw,
            headers=event.headers or record.get("headers") or {},
            query=event.query or record.get("query") or {},
            event_type=event.event_type or record.get("event_type"),
        )

    def _still_rate_limited(self, parsed: list[_Parsed]) -> dict[int, float]:
        now = self.clock()
        waiting = {}
        for index, item in enumerate(parsed):
            value = (item.record.get("messageAttributes") or {}).get(NOT_BEFORE, {}).get("stringValue")
            if value and float(value) > now:
                waiting[index] = float(value)
        return waiting

    # --- mapping --------------------------------------------------------------------------------

    def _map(
        self, parsed: list[_Parsed], skip: dict[int, float]
    ) -> tuple[list[Send], list[MappingFailure], dict[int, tuple[str, str | None]]]:
        by_source: dict[str, list[int]] = defaultdict(list)
        for index, item in enumerate(parsed):
            if item.inbound is not None and index not in skip and not item.problem and not item.retry:
                by_source[item.event.source].append(index)
        sends: list[Send] = []
        failures: list[MappingFailure] = []
        origin: dict[int, tuple[str, str | None]] = {}
        for source, indexes in by_source.items():
            try:
                ruleset = self.store.get(source)
            except UnknownSourceError:
                for index in indexes:
                    parsed[index].problem = f"no rule file for source {source!r}"
                continue
            except RuleFileError as exc:
                for index in indexes:
                    parsed[index].problem = f"rule file invalid: {exc.problems[0] if exc.problems else exc}"
                continue
            except StoreError as exc:
                for index in indexes:
                    parsed[index].retry = str(exc)
                continue
            result = map_events(ruleset, [parsed[i].inbound for i in indexes])
            for index in indexes:
                origin[index] = (source, ruleset.version)
            # The engine numbers events within this source; the batch numbers them globally.
            sends += [dataclasses.replace(s, event_index=indexes[s.event_index]) for s in result.sends]
            failures += [dataclasses.replace(f, event_index=indexes[f.event_index]) for f in result.errors]
            count(Metric.MAPPED, len(indexes), source=source)
        return sends, failures, origin

    # --- outcomes -------------------------------------------------------------------------------

    def _apply(
        self, record: dict[str, Any], result: EventResult, origin: tuple[str, str | None] | None
    ) -> MessageOutcome:
        message_id = record.get("messageId", "")
        if result.decision is EventDecision.DEAD_LETTER:
            self._dead_letter(record, result.reason, origin)
            return MessageOutcome(message_id, EventDecision.DEAD_LETTER, result.reason)
        if result.decision is EventDecision.DONE:
            return MessageOutcome(message_id, EventDecision.DONE)
        receives = int((record.get("attributes") or {}).get("ApproximateReceiveCount", "1"))
        if result.retry_at:  # rate limited: a fresh copy, so waiting is not a failed attempt
            delay = max(1, min(int(result.retry_at - self.clock()) + 1, MAX_SQS_DELAY))
            self._requeue(record, result.retry_at, delay)
            return MessageOutcome(
                message_id, EventDecision.DONE, f"re-queued until the rate-limit reset: {result.reason}", delay
            )
        if receives >= self.settings.max_receive_count:
            reason = f"gave up after {receives} attempts: {result.reason}"
            self._dead_letter(record, reason, origin)
            return MessageOutcome(message_id, EventDecision.DEAD_LETTER, reason)
        delay = min(self.settings.max_retry_delay, self.settings.retry_base_delay * 2 ** min(receives - 1, 12))
        self._delay(record, delay)
        return MessageOutcome(message_id, EventDecision.RETRY, result.reason, delay)

    def _dead_letter(self, record: dict[str, Any], reason: str, origin: tuple[str, str | None] | None) -> None:
        attributes = _string_attributes(record)
        attributes["error"] = {"DataType": "String", "StringValue": reason[:1024] or "unknown"}
        attributes["failed_at"] = {"DataType": "String", "StringValue": _iso(self.clock())}
        if origin and origin[1]:
            attributes["rules_version"] = {"DataType": "String", "StringValue": origin[1]}
        self.sqs.send_message(
            QueueUrl=self.settings.dead_letter_queue_url,
            MessageBody=record.get("body", ""),
            MessageAttributes=attributes,
        )
        logger.warning("event dead-lettered", extra={"message_id": record.get("messageId"), "reason": reason[:300]})

    def _requeue(self, record: dict[str, Any], not_before: float, delay: int) -> None:
        attributes = _string_attributes(record)
        attributes[NOT_BEFORE] = {"DataType": "String", "StringValue": f"{not_before:.0f}"}
        self.sqs.send_message(
            QueueUrl=self.settings.queue_url,
            MessageBody=record.get("body", ""),
            MessageAttributes=attributes,
            DelaySeconds=delay,
        )

    def _delay(self, record: dict[str, Any], delay: int) -> None:
        try:
            self.sqs.change_message_visibility(
                QueueUrl=self.settings.queue_url,
                ReceiptHandle=record["receiptHandle"],
                VisibilityTimeout=min(delay, MAX_VISIBILITY),
            )
        except Exception as exc:  # the queue's own visibility timeout still brings it back
            logger.warning("could not delay a retry", extra={"error": type(exc).__name__})

    def _count(self, reports: list[SendReport], failures: list[MappingFailure]) -> None:
        by_status: dict[SendStatus, list[tuple[str, str]]] = defaultdict(list)
        for report in reports:
            if report.status is SendStatus.HELD and not report.newly_held:
                continue  # already held before this attempt: counted when it became unknown
            by_status[report.status].append((report.send.source, report.send.rule_id))
        metric_of = {
            SendStatus.SENT: Metric.SENT,
            SendStatus.DUPLICATE: Metric.DUPLICATE_SENDS,
            SendStatus.RATE_LIMITED: Metric.RATE_LIMITED,
            SendStatus.HELD: Metric.UNKNOWN,
            SendStatus.FAILED: Metric.FAILED,
        }
        for status, keys in by_status.items():
            if status in metric_of:
                count_by(metric_of[status], keys)
        if failures:
            count(Metric.MAPPING_ERRORS, len(failures))

    def _count_events(self, parsed: list[_Parsed], outcomes: list[MessageOutcome]) -> None:
        metric_of = {EventDecision.RETRY: Metric.RETRIED, EventDecision.DEAD_LETTER: Metric.DEAD_LETTERED}
        tally: Counter[tuple[str, str | None]] = Counter()
        for item, outcome in zip(parsed, outcomes, strict=True):
            if outcome.decision in metric_of:
                tally[metric_of[outcome.decision], item.event.source if item.event else None] += 1
        for (metric, source), value in tally.items():
            # A message too broken to name its source is counted without one.
            count(metric, value, **({"source": source} if source else {}))

    def _publish_held(self, newly_held: int, deadline: float | None) -> None:
        """Gauge `SendsHeld`, so UnknownSendsAlarm stays in ALARM until an operator settles every held
        send, instead of clearing once no send has newly become unknown for a while."""
        now = self.clock()
        due = self._held_checked_at is None or now - self._held_checked_at >= HELD_CHECK_SECONDS
        if not (due or newly_held) or (deadline is not None and deadline - time.monotonic() < 1.0):
            return
        try:
            held = self.sender.ledger.count_needing_attention("unknown", HELD_COUNT_LIMIT)
        except LedgerError as exc:  # no datapoint: the alarm keeps its state
            logger.warning("could not count held sends", extra={"error": str(exc)})
            return
        self._held_checked_at = now
        gauge(Metric.HELD, max(held, newly_held))  # the index may not show this batch's new ones yet


def _string_attributes(record: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The record's String message attributes, ready for SendMessage."""
    attributes = {}
    for name, value in (record.get("messageAttributes") or {}).items():
        if value.get("stringValue") is not None and name != NOT_BEFORE:
            attributes[name] = {"DataType": "String", "StringValue": value["stringValue"]}
    return attributes


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(epoch))


def build_dispatcher(settings: DispatchSettings) -> Dispatcher:
    """A Dispatcher on real AWS clients (created at first use, never at import)."""
    import boto3

    from adapter.delivery import build_sender
    from mapping.ruleset import parse_ruleset

    def rejected(source: str, error: RuleFileError) -> None:
        count(Metric.RULES_REJECTED, source=source)
        logger.error(
            "new rule file rejected; keeping the last good one", extra={"problems": [str(p) for p in error.problems]}
        )

    s3 = boto3.client("s3")
    store = RuleStore(
        s3,
        settings.rules_bucket,
        lambda text, name, version: parse_ruleset(text, name, version=version, check_files=False),
        prefix=settings.rules_prefix,
        max_age=settings.rules_max_age,
        on_invalid=rejected,
    )
    return Dispatcher(settings, store, build_sender(settings), s3, boto3.client("sqs"))
