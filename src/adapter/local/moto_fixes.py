"""Make moto's TransactWriteItems usable under load and isolated under concurrency.

* moto deep-copies the whole table once per transaction item so it can roll back (O(table size)
  per item: a 50-item transaction took 1.4 s with 3,000 items in the table). The ledger writes
  every batch with transactions, so we snapshot only the items a transaction touches and restore
  exactly those when it is cancelled.
* moto's server handles requests on several threads without isolating a transaction from other
  writes, so a cancelled transaction could restore an item over a concurrent writer's claim. Real
  DynamoDB isolates transactions; here every write to a table is serialised with one lock.
* moto's server lists its own package directory (dozens of `stat` calls) on every request to
  route it; the list never changes while it runs, so it is read once.
* moto's SQS ReceiveMessage re-reads every queue attribute (scanning all messages) for each
  message it returns, and checks visibility with a datetime round trip per message: 240 ms per
  receive with 500 queued messages. The same checks are made with plain epoch arithmetic.
* moto's SQS DeleteMessage rebuilds the queue's message list without the queue's lock, so a
  message sent meanwhile was dropped (accepted webhooks vanished under load), and two concurrent
  ReceiveMessage calls could hand out the same message. Both now hold the queue's lock, which
  SendMessage already takes (a long poll waits on that lock's condition, releasing it).
"""

from __future__ import annotations

import copy
import functools
import threading
import time
from typing import Any

__all__ = ["patch_moto"]

_patched = False
_write_lock = threading.RLock()


class _CopyWithoutTables:
    """Replaces the `copy` module inside moto's DynamoDB models: tables are not deep-copied."""

    def __init__(self) -> None:
        from moto.dynamodb.models.table import Table

        self._table = Table

    def deepcopy(self, value: Any, *args: Any) -> Any:
        return value if isinstance(value, self._table) else copy.deepcopy(value, *args)


def patch_moto() -> None:
    """Install the patch once per process (idempotent)."""
    global _patched
    if _patched:
        return
    from moto.dynamodb import models

    backend = models.DynamoDBBackend
    original = backend.transact_write_items
    models.copy = _CopyWithoutTables()  # only transact_write_items deep-copies tables

    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with _write_lock:
            saved = [_snapshot(self, item) for item in transact_items]
            try:
                return original(self, transact_items)
            except Exception:
                for table_name, key, attributes in saved:
                    _restore(self, table_name, key, attributes)
                raise

    backend.transact_write_items = transact_write_items
    for name in ("put_item", "update_item", "delete_item", "batch_write_item"):
        if hasattr(backend, name):
            setattr(backend, name, _locked(getattr(backend, name)))
    _patch_sqs()
    _patch_routing()
    _patched = True


def _patch_routing() -> None:
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules


def _patch_sqs() -> None:
    from moto.sqs import models

    # Same meaning as moto's unix_time_millis() comparisons, without building datetimes.
    models.Message.visible = property(lambda self: time.time() * 1000 > self.visible_at)
    models.Message.delayed = property(lambda self: time.time() * 1000 < self.delayed_until)

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        queue = self.get_queue(queue_name)
        return int(queue.message_retention_period) + message.sent_timestamp / 1000 > time.time()

    models.SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period

    delete_message = models.Queue.delete_message
    receive_message = models.SQSBackend.receive_message

    @functools.wraps(delete_message)
    def locked_delete(queue: Any, *args: Any, **kwargs: Any) -> Any:
        with queue._messages_lock:
            return delete_message(queue, *args, **kwargs)

    @functools.wraps(receive_message)
    def locked_receive(backend: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        with backend.get_queue(queue_name)._messages_lock:
            return receive_message(backend, queue_name, *args, **kwargs)

    models.Queue.delete_message = locked_delete
    models.SQSBackend.receive_message = locked_receive


def _locked(method: Any) -> Any:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _write_lock:
            return method(*args, **kwargs)

    return locked


def _snapshot(backend: Any, transact_item: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
    _, operation = next(iter(transact_item.items()))
    table_name = operation["TableName"]
    table = backend.get_table(table_name)
    names = [name for name in (table.hash_key_attr, table.range_key_attr) if name]
    key = operation.get("Key") or {name: operation["Item"][name] for name in names}
    existing = backend.get_item(table_name, key)
    return table_name, key, copy.deepcopy(existing.to_json()["Attributes"]) if existing else None


def _restore(backend: Any, table_name: str, key: dict[str, Any], attributes: dict[str, Any] | None) -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    table = backend.get_table(table_name)
    if attributes is not None:
        backend.put_item(table_name, attributes)
        return
    hash_key = DynamoType(key[table.hash_key_attr])
    range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    if backend.get_item(table_name, key) is not None:
        table.delete_item(hash_key, range_key)
