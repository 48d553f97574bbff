"""Wire the delivery layer from settings: ledger, Braze clients per destination, sender."""

from __future__ import annotations

import threading
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from adapter.secrets import resolve_secret
from adapter.settings import DispatchSettings
from braze.batching import Destination
from braze.client import BrazeClient, new_session
from braze.ledger import Ledger
from braze.sender import Sender

__all__ = ["ConfigurationError", "build_sender", "user_agent"]


class ConfigurationError(Exception):
    """The stack is missing a setting it needs (e.g. no Braze endpoint for a rule without destination)."""


def user_agent() -> str:
    try:
        return f"braze-webhook-adapter/{version('braze-webhook-adapter')}"
    except PackageNotFoundError:
        return "braze-webhook-adapter/dev"


class BrazeClients:
    """One `BrazeClient` per destination, sharing one Session; keys resolved on first use."""

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
                api_key = resolve_secret(key_reference, max_age=self.settings.secrets_max_age)
                client = BrazeClient(
                    endpoint,
                    api_key,
                    self.session,
                    connect_timeout=self.settings.connect_timeout,
                    read_timeout=self.settings.read_timeout,
                )
                self._clients[(endpoint, key_reference)] = client
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
