"""Group sends into as few Braze requests as the contract allows.

Sends share a request when they go to the same endpoint and destination with an identical
top-level body (everything except `recipients`), up to 50 recipients, in the order they were
produced; requests are ordered by their first send; broadcasts are never merged.

One more rule the contract implies: Braze collapses a repeated recipient inside one request into a
single message. Two events for the same person would then send once, so a send whose recipient is
already in a request goes to the next request of its group instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from braze.idempotency import canonical_json, recipient_identifier
from braze.models import MAX_RECIPIENTS, json_size

__all__ = ["BrazeRequest", "Destination", "Send", "build_requests"]

# Braze accepts bodies up to 4 MB; leave room for the top-level body and framing.
MAX_RECIPIENT_BYTES = 3_800_000


@dataclass(frozen=True)
class Destination:
    """Where a send goes; None fields mean the stack's default endpoint or API key."""

    endpoint: str | None = None
    api_key: str | None = None


@dataclass(frozen=True)
class Send:
    """One message to one recipient (or one broadcast), produced by one rule for one event."""

    path: str
    body: dict[str, Any]
    recipient: dict[str, Any] | None
    idempotency_key: str
    source: str
    rule_id: str
    event_id: str
    event_index: int = 0
    destination: Destination = Destination()
    on_ambiguous: str = "hold"
    rules_version: str | None = None  # S3 version id of the rule file that produced it

    @property
    def broadcast(self) -> bool:
        return self.recipient is None


@dataclass
class BrazeRequest:
    """One HTTP request to Braze carrying one or more sends."""

    path: str
    destination: Destination
    top_body: dict[str, Any]
    sends: list[Send] = field(default_factory=list)
    _identities: set[str] = field(default_factory=set, repr=False)
    _recipient_bytes: int = field(default=0, repr=False)

    @property
    def body(self) -> dict[str, Any]:
        if self.sends and self.sends[0].broadcast:
            return dict(self.top_body)
        return {**self.top_body, "recipients": [send.recipient for send in self.sends]}

    @property
    def idempotency_keys(self) -> list[str]:
        return [send.idempotency_key for send in self.sends]

    def to_json(self) -> dict[str, Any]:
        """The `map` command's view: path, body and idempotency keys."""
        return {"path": self.path, "body": self.body, "idempotency_keys": self.idempotency_keys}

    def _accepts(self, identity: str, size: int) -> bool:
        return (
            len(self.sends) < MAX_RECIPIENTS
            and identity not in self._identities
            and self._recipient_bytes + size <= MAX_RECIPIENT_BYTES
        )

    def _add(self, send: Send, identity: str, size: int) -> None:
        self.sends.append(send)
        self._identities.add(identity)
        self._recipient_bytes += size


def build_requests(sends: Iterable[Send]) -> list[BrazeRequest]:
    """Batch `sends` into Braze requests (see the module docstring for the rules).

    Example
    -------
    >>> sends = [Send("/campaigns/trigger/send", {"campaign_id": "c"}, {"external_user_id": str(i)},
    ...               str(i), "src", "rule", "evt") for i in range(120)]
    >>> [len(r.sends) for r in build_requests(sends)]
    [50, 50, 20]
    """
    requests: list[BrazeRequest] = []
    open_by_group: dict[tuple[str, Destination, str], list[BrazeRequest]] = {}
    for send in sends:
        if send.broadcast:
            requests.append(BrazeRequest(send.path, send.destination, send.body, [send]))
            continue
        group = (send.path, send.destination, canonical_json(send.body))
        identity = canonical_json(recipient_identifier(send.recipient))
        size = json_size(send.recipient) + 1
        candidates = open_by_group.setdefault(group, [])
        target = next((request for request in candidates if request._accepts(identity, size)), None)
        if target is None:
            target = BrazeRequest(send.path, send.destination, send.body)
            candidates.append(target)
            requests.append(target)
        target._add(send, identity, size)
        if len(target.sends) >= MAX_RECIPIENTS:
            candidates.remove(target)  # full: keep the scan short
    return requests
