"""Wire the delivery layer from settings: ledger, Braze clients per destination, sender."""

from __future__ import annotations

import hmac
import logging
import threading
import time
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import requests

from adapter.secrets import SecretError, resolve_secret
from adapter.settings import DispatchSettings
from braze.batching import Destination
from braze.client import BrazeClient, SendResult, new_session
from braze.ledger import Ledger
from braze.sender import Sender

__all__ = ["ConfigurationError", "build_sender", "user_agent"]

logger = logging.getLogger(__name__)


class ConfigurationError(Exception):
    """The stack is missing a setting it needs (e.g. no Braze endpoint for a rule without destination)."""


def user_agent() -> str:
    try:
        return f"braze-webhook-adapter/{version('braze-webhook-adapter')}"
    except PackageNotFoundError:
        return "braze-webhook-adapter/dev"


class RotatingClient(BrazeClient):
    """A `BrazeClient` whose key follows its secret: re-read after `max_age`, and at once on a 401."""

    def __init__(
        self, endpoint: str, key_reference: str, session: requests.Session, settings: DispatchSettings
    ) -> None:
        self.key_reference = key_reference
        self.max_age = settings.secrets_max_age
        api_key = resolve_secret(key_reference, max_age=self.max_age)
        super().__init__(
            endpoint, api_key, session, connect_timeout=settings.connect_timeout, read_timeout=settings.read_timeout
        )

    def refresh_key(self, *, force: bool = False) -> bool:
        """Re-resolve the key (from the Parameters cache unless `force`); True when it changed."""
        try:
            api_key = resolve_secret(self.key_reference, max_age=self.max_age, force_fetch=force)
        except SecretError as exc:
            # A key that worked is a better bet than failing the whole batch on a Secrets Manager hiccup.
            logger.warning("cannot re-read the Braze API key; keeping the current one", extra={"error": str(exc)})
            return False
        changed = not hmac.compare_digest(api_key.encode(), self.api_key.encode())
        self.api_key = api_key
        return changed

    def send(self, path: str, body: dict[str, Any], *, deadline: float | None = None) -> SendResult:
        # The sender's ledger lease covers one request's timeouts: a retry must fit in the same window.
        window_end = time.monotonic() + self.connect_timeout + self.read_timeout
        result = super().send(path, body, deadline=deadline)
        if result.status != 401 or not self.refresh_key(force=True):
            return result
        # A 401 means Braze sent nothing, so one retry with the rotated key is safe.
        logger.info("Braze refused the API key; retrying once with the rotated one", extra={"endpoint": self.endpoint})
        return super().send(path, body, deadline=window_end if deadline is None else min(deadline, window_end))


class BrazeClients:
    """One `RotatingClient` per destination, sharing one Session; keys resolved on first use."""

    def __init__(self, settings: DispatchSettings) -> None:
        self.settings = settings
        self.session = new_session(user_agent())
        self._clients: dict[tuple[str, str], BrazeClient] = {}
        self._lock = threading.Lock()

    def __call__(self, destination: Destination) -> BrazeClient:
        endpoint = destination.endpoint or self.settings.braze_endpoint
        key_reference = destination.api_key or self.settings.braze_api_key
        if not endpoint or not key_reference:
            raise ConfigurationError("no Braze endpoint/API key: set the stack's BrazeEndpoint and BrazeApiKeySecret")
        with self._lock:
            client = self._clients.get((endpoint, key_reference))
            if client is None:
                client = RotatingClient(endpoint, key_reference, self.session, self.settings)
                self._clients[(endpoint, key_reference)] = client
            else:
                client.refresh_key()  # a cache hit until secrets_max_age has passed
            return client


def build_sender(settings: DispatchSettings, dynamodb: Any = None) -> Sender:
    """A Sender on the configured ledger table (a boto3 client is created when not given)."""
    if dynamodb is None:
        import boto3
        from botocore.config import Config

        dynamodb = boto3.client("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 5}))
    ledger = Ledger(
        settings.ledger_table,
        dynamodb,
        ttl_seconds=settings.ledger_ttl_days * 24 * 3600,
        claim_lease_seconds=settings.claim_lease_seconds,
    )
    return Sender(ledger, BrazeClients(settings))
