"""Dispatch Lambda: SQS batches (ingress envelopes, SNS, EventBridge, raw JSON) -> Braze.

Maps the whole batch together, sends through the ledger, and reports partial batch failures
(`ReportBatchItemFailures`) for the messages that must come back later.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from adapter.dispatch import Dispatcher, build_dispatcher
from adapter.observability import logger, route_library_logs
from adapter.settings import DispatchSettings, load_settings
from braze.sender import EventDecision

route_library_logs()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
_dispatcher: Dispatcher | None = None
SAFETY_MARGIN_SECONDS = 3.0  # left for reporting the batch after the last send


def dispatcher() -> Dispatcher:
    global _dispatcher
    if _dispatcher is None:
        _dispatcher = build_dispatcher(load_settings(DispatchSettings))
    return _dispatcher


class RetryLater(Exception):
    """Marks a message as a batch item failure: SQS brings it back after its visibility delay."""


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    remaining = context.get_remaining_time_in_millis() / 1000 if context else 30.0
    deadline = time.monotonic() + remaining - SAFETY_MARGIN_SECONDS
    outcomes = {o.message_id: o for o in dispatcher().handle(event.get("Records", []), deadline=deadline)}

    def record_handler(record: Any) -> None:
        outcome = outcomes.get(record.message_id)
        if outcome is not None and outcome.decision is EventDecision.RETRY:
            raise RetryLater(outcome.reason)

    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
