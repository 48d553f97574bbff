"""Idempotency keys: one per send, stable across retries, replays and key order in the event."""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["canonical_json", "custom_key", "default_key", "recipient_identifier"]

IDENTIFIERS = ("external_user_id", "user_alias", "email")


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 kept: equal JSON values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def recipient_identifier(recipient: dict[str, Any] | None) -> dict[str, Any] | None:
    """The identifying part of a recipient (`{"external_user_id": "u1"}`), None for broadcasts."""
    if recipient is None:
        return None
    for name in IDENTIFIERS:
        if name in recipient:
            return {name: recipient[name]}
    return None


def default_key(source: str, rule_id: str, event_id: str, recipient: dict[str, Any] | None) -> str:
    """sha256(source, rule id, event id, canonical JSON of the recipient identifier | "broadcast").

    Example
    -------
    >>> default_key("stripe", "trial", "evt_1", {"external_user_id": "u1"}) == default_key(
    ...     "stripe", "trial", "evt_1", {"trigger_properties": {"a": 1}, "external_user_id": "u1"})
    True
    """
    identifier = recipient_identifier(recipient)
    who = "broadcast" if identifier is None else canonical_json(identifier)
    return _sha256(canonical_json([source, rule_id, event_id, who]))


def custom_key(source: str, rule_id: str, value: Any) -> str:
    """The key for a rule's `idempotency_key:` value: sha256(source, rule id, canonical JSON of value).

    The value replaces the event id and recipient of the default key; it stays scoped to its rule,
    so two rules using the same expression never suppress each other.
    """
    return _sha256(canonical_json([source, rule_id, "custom", canonical_json(value)]))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
