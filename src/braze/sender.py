"""Send batched Braze requests exactly once: claim, mark sending, send, complete.

The sender never retries by itself. It reports what happened to every send, and `summarize` turns
that into one decision per event (done, retry later, or dead-letter with a reason) that the
dispatch Lambda maps onto SQS partial batch failures.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from braze.batching import BrazeRequest, Destination, Send
from braze.client import BrazeClient, Outcome, SendResult
from braze.idempotency import recipient_identifier
from braze.ledger import ClaimRequest, ClaimResult, ClaimStatus, Completion, Ledger, LedgerError

__all__ = ["EventDecision", "EventResult", "SendReport", "SendStatus", "Sender", "summarize"]

logger = logging.getLogger(__name__)

LEDGER_MARGIN_SECONDS = 2.0  # time kept back from the deadline to record the outcome


class SendStatus(StrEnum):
    SENT = "sent"
    DUPLICATE = "duplicate"  # already sent earlier: skipped
    HELD = "held"  # outcome unknown, held for an operator
    FAILED = "failed"  # Braze refused it (4xx or a per-recipient error)
    RETRY = "retry"  # nothing sent (5xx, connection, no time, ledger trouble): try the event again
    RATE_LIMITED = "rate_limited"  # 429: try again after the reset; not a failed attempt
    BUSY = "busy"  # another worker holds it right now


@dataclass(frozen=True)
class SendReport:
    send: Send
    status: SendStatus
    reason: str = ""
    dispatch_id: str | None = None
    retry_at: float | None = None
    newly_held: bool = False  # HELD by this attempt, not met again on a later one (counted once)


class EventDecision(StrEnum):
    DONE = "done"
    RETRY = "retry"
    DEAD_LETTER = "dead_letter"


@dataclass
class EventResult:
    event_index: int
    decision: EventDecision
    reason: str = ""
    retry_at: float | None = None
    reports: list[SendReport] = field(default_factory=list)


class Sender:
    """Delivers `BrazeRequest`s through the ledger.

    Parameters
    ----------
    ledger:
        The DynamoDB ledger.
    client_for:
        Returns the `BrazeClient` of a destination (endpoint and key resolved, cached by caller).
    """

    def __init__(
        self,
        ledger: Ledger,
        client_for: Callable[[Destination], BrazeClient],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ledger = ledger
        self.client_for = client_for
        self.clock = clock
        self._blocked_until: dict[Destination, float] = {}

    def send(self, requests: Sequence[BrazeRequest], *, deadline: float | None = None) -> list[SendReport]:
        """Send every request; one report per send, in request order."""
        reports: list[SendReport] = []
        for request in requests:
            reports.extend(self._send_one(request, deadline))
        return reports

    def _send_one(self, request: BrazeRequest, deadline: float | None) -> list[SendReport]:
        blocked = self._blocked_until.get(request.destination, 0.0)
        if blocked > self.clock():
            return [
                SendReport(s, SendStatus.RATE_LIMITED, "rate limited earlier in this batch", retry_at=blocked)
                for s in request.sends
            ]
        send_deadline = None if deadline is None else deadline - LEDGER_MARGIN_SECONDS
        if send_deadline is not None and send_deadline - time.monotonic() < 1.0:
            return [SendReport(s, SendStatus.RETRY, "not enough time left in this invocation") for s in request.sends]
        try:
            client = self.client_for(request.destination)
            token, claims = self.ledger.claim([_claim_request(s) for s in request.sends])
        except LedgerError as exc:
            return [SendReport(s, SendStatus.RETRY, f"ledger unavailable: {exc}") for s in request.sends]

        reports: list[SendReport] = []
        claimed: list[Send] = []
        for send in request.sends:
            claim = claims[send.idempotency_key]
            if claim.status is ClaimStatus.CLAIMED:
                claimed.append(send)
            else:
                reports.append(_not_claimed(send, claim))
        if not claimed:
            return reports

        lease = client.connect_timeout + client.read_timeout + LEDGER_MARGIN_SECONDS
        try:
            ours = set(self.ledger.mark_sending(token, [s.idempotency_key for s in claimed], lease))
        except LedgerError as exc:
            return reports + [SendReport(s, SendStatus.RETRY, f"ledger unavailable: {exc}") for s in claimed]
        reports += [
            SendReport(s, SendStatus.BUSY, "claim taken over") for s in claimed if s.idempotency_key not in ours
        ]
        claimed = [s for s in claimed if s.idempotency_key in ours]
        if not claimed:
            return reports

        outgoing = BrazeRequest(request.path, request.destination, request.top_body, claimed)
        result = client.send(outgoing.path, outgoing.body, deadline=send_deadline)
        if result.outcome is Outcome.RATE_LIMITED and result.retry_at:
            self._blocked_until[request.destination] = result.retry_at
        completion, outcome_reports = _complete(outgoing, result)
        try:
            self._record(token, completion)
        except LedgerError as exc:
            logger.error(
                "could not record the outcome of a Braze request; its keys will be held as unknown",
                extra={"dispatch_id": result.dispatch_id, "outcome": result.outcome.value, "error": str(exc)},
            )
            outcome_reports = [
                SendReport(r.send, SendStatus.RETRY, f"outcome not recorded: {exc}") for r in outcome_reports
            ]
        return reports + outcome_reports

    def _record(self, token: str, completion: Completion, attempts: int = 3) -> None:
        for attempt in range(attempts):
            try:
                self.ledger.complete(token, completion)
                return
            except LedgerError:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.2 * 2**attempt)


def _claim_request(send: Send) -> ClaimRequest:
    return ClaimRequest(
        key=send.idempotency_key,
        source=send.source,
        rule_id=send.rule_id,
        event_id=send.event_id,
        rules_version=send.rules_version,
        retry_unknown=send.on_ambiguous == "retry",
    )


def _not_claimed(send: Send, claim: ClaimResult) -> SendReport:
    item = claim.item or {}
    if claim.status is ClaimStatus.DUPLICATE:
        return SendReport(send, SendStatus.DUPLICATE, "already sent", dispatch_id=item.get("dispatch_id"))
    if claim.status is ClaimStatus.HELD:
        reason = item.get("reason") or "outcome unknown; held for an operator"
        return SendReport(send, SendStatus.HELD, reason, newly_held=claim.newly_held)
    return SendReport(send, SendStatus.BUSY, "another worker is sending it")


def _kept_request(request: BrazeRequest, send: Send) -> dict[str, Any]:
    """What an operator needs to re-send one held send (`ledger resolve --retry`)."""
    destination = {"endpoint": request.destination.endpoint, "api_key": request.destination.api_key}
    return {"path": request.path, "destination": destination, "body": request.top_body, "recipient": send.recipient}


def _complete(request: BrazeRequest, result: SendResult) -> tuple[Completion, list[SendReport]]:
    completion = Completion(sent={}, failed={}, unknown={}, released=[])
    reports: list[SendReport] = []
    for index, send in enumerate(request.sends):
        key = send.idempotency_key
        if result.outcome is Outcome.SENT:
            error = result.recipient_errors.get(index)
            if error is not None:
                completion.failed[key] = (f"Braze: {error}", _kept_request(request, send))
                reports.append(SendReport(send, SendStatus.FAILED, f"Braze refused this recipient: {error}"))
            else:
                completion.sent[key] = {"dispatch_id": result.dispatch_id, "notice": result.notice}
                reports.append(SendReport(send, SendStatus.SENT, result.notice or "", result.dispatch_id))
        elif result.outcome in (Outcome.RATE_LIMITED, Outcome.RETRYABLE):
            completion.released.append(key)
            status = SendStatus.RATE_LIMITED if result.outcome is Outcome.RATE_LIMITED else SendStatus.RETRY
            reports.append(SendReport(send, status, result.reason, retry_at=result.retry_at))
        elif result.outcome is Outcome.PERMANENT:
            completion.failed[key] = (result.reason, _kept_request(request, send))
            reports.append(SendReport(send, SendStatus.FAILED, result.reason))
        else:  # ambiguous: keep the request; re-send only when the rule allows it
            completion.unknown[key] = _kept_request(request, send)
            if send.on_ambiguous == "retry":
                reports.append(SendReport(send, SendStatus.RETRY, f"{result.reason} (on_ambiguous: retry)"))
            else:
                reports.append(SendReport(send, SendStatus.HELD, result.reason, newly_held=True))
    return completion, reports


def summarize(event_count: int, reports: Sequence[SendReport], mapping_errors: Sequence[Any] = ()) -> list[EventResult]:
    """One decision per event: retry wins over dead-letter (a retried event re-claims only what is
    left), and an event is done when all its sends are sent, duplicates or held."""
    results = [EventResult(index, EventDecision.DONE) for index in range(event_count)]
    for report in reports:
        results[report.send.event_index].reports.append(report)
    problems: dict[int, list[str]] = {}
    for error in mapping_errors:
        problems.setdefault(error.event_index, []).append(
            f"mapping: rule {error.rule_id} {error.path}: {error.message}"
        )
    for result in results:
        statuses = {r.status for r in result.reports}
        waits = [r.retry_at for r in result.reports if r.status is SendStatus.RATE_LIMITED and r.retry_at]
        if statuses & {SendStatus.RATE_LIMITED, SendStatus.RETRY, SendStatus.BUSY}:
            result.decision = EventDecision.RETRY
            result.retry_at = max(waits) if waits else None
            result.reason = "; ".join(
                sorted(
                    {
                        r.reason
                        for r in result.reports
                        if r.status in (SendStatus.RATE_LIMITED, SendStatus.RETRY, SendStatus.BUSY)
                    }
                )
            )
            continue
        failures = [
            f"send {r.send.rule_id} to {_who(r.send)}: {r.reason}"
            for r in result.reports
            if r.status is SendStatus.FAILED
        ]
        reasons = problems.get(result.event_index, []) + failures
        if reasons:
            result.decision = EventDecision.DEAD_LETTER
            result.reason = "; ".join(reasons)
    return results


def _who(send: Send) -> str:
    identifier = recipient_identifier(send.recipient)
    if identifier is None:
        return "broadcast"
    ((kind, _),) = identifier.items()
    return kind  # never the identifier itself: it may be an email address
