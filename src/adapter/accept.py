"""Accept each webhook delivery once: Powertools Idempotency on the ledger table.

A delivery key (source + event id) moves INPROGRESS -> COMPLETED. A repeat delivery gets the stored
result and is reported as a duplicate; a concurrent one raises `InProgress` (ingress answers 409 so
the provider retries); if archiving or enqueueing fails the record is deleted, so the provider's
retry is accepted again. The in-progress record expires with the Lambda's remaining time, so a
crashed invocation never blocks an event for long.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from adapter.ingress import InProgress

__all__ = ["AcceptOnce"]

_DUPLICATE = "_duplicate"


class AcceptOnce:
    def __init__(self, table: str, ttl_seconds: int, boto3_client: Any = None) -> None:
        self.persistence = DynamoDBPersistenceLayer(
            table_name=table, key_attr="pk", expiry_attr="expires_at", boto3_client=boto3_client
        )
        self.config = IdempotencyConfig(
            expires_after_seconds=ttl_seconds,
            raise_on_no_idempotency_key=True,
            response_hook=lambda response, _record: {**response, _DUPLICATE: True},
        )

        @idempotent_function(data_keyword_argument="delivery", config=self.config, persistence_store=self.persistence)
        def accept(delivery: dict[str, str], work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
            return work()

        self._accept = accept

    def register(self, context: Any) -> None:
        """Give Powertools the Lambda context, so in-progress records expire with the invocation."""
        self.config.register_lambda_context(context)

    def __call__(self, *, delivery: dict[str, str], work: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], bool]:
        try:
            result = self._accept(delivery=delivery, work=work)
        except IdempotencyAlreadyInProgressError:
            raise InProgress() from None
        return result, bool(result.pop(_DUPLICATE, False))
