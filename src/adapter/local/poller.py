"""The SQS event source, locally: long-polls the queue, gathers batches, invokes the dispatch
handler with the Lambda SQS event, and deletes everything not reported in `batchItemFailures`.
Failed messages come back after their visibility timeout; the queue's redrive policy moves them
to the dead-letter queue, as on AWS."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from adapter.local.lambda_runtime import LambdaContext, sqs_event

__all__ = ["QueuePoller"]

logger = logging.getLogger(__name__)


class QueuePoller:
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        handler: Callable[[dict[str, Any], Any], Any],
        *,
        function_name: str = "dispatch",
        timeout: float = 30.0,
        batch_size: int = 100,
        batching_window: float = 0.2,
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.handler = handler
        self.function_name = function_name
        self.timeout = timeout
        self.batch_size = batch_size
        self.batching_window = batching_window
        self.batches = 0
        self.errors = 0
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._busy = threading.Lock()  # held while a batch is being received or dispatched
        self._thread: threading.Thread | None = None

    def start(self) -> QueuePoller:
        self._thread = threading.Thread(target=self._run, name="sqs-poller", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 5)

    def pause(self) -> None:
        """Stop taking new batches; returns once the batch in progress (if any) has finished."""
        self._running.clear()
        with self._busy:
            pass

    def resume(self) -> None:
        self._running.set()

    def poll_once(self, wait: float = 1.0) -> int:
        """Receive one batch (waiting up to `wait` s for the first message) and dispatch it."""
        messages = self._gather(wait)
        if not messages:
            return 0
        event = sqs_event(messages, self.queue_arn)
        try:
            response = self.handler(event, LambdaContext(self.function_name, self.timeout))
            failed = {item["itemIdentifier"] for item in (response or {}).get("batchItemFailures", [])}
        except Exception:  # the whole invocation failed: every message comes back
            logger.exception("dispatch handler failed; the batch will be retried")
            self.errors += 1
            return len(messages)
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)]
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
        self.batches += 1
        return len(messages)

    def _gather(self, wait: float) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        deadline = None
        while len(messages) < self.batch_size and not self._stop.is_set():
            first_wait = max(0, min(20, int(wait))) if not messages else 0
            response = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, self.batch_size - len(messages)),
                WaitTimeSeconds=first_wait,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            received = response.get("Messages", [])
            messages += received
            if not messages:
                return []
            deadline = deadline or time.monotonic() + self.batching_window
            if not received and time.monotonic() >= deadline:
                break
            if time.monotonic() >= deadline:
                break
        return messages

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._running.wait(0.2):
                continue
            try:
                with self._busy:
                    if self._running.is_set():
                        self.poll_once()
            except Exception:
                logger.exception("poller error")
                self.errors += 1
                time.sleep(0.5)
