"""An inbound event as the engine sees it, and how its id and type are derived.

Ingress and dispatch derive the id the same way, so this module stays light: no pydantic models,
no Braze code. Order: the rule file's `event_id:` expression, then the preset's default (Stripe
`$.id`, GitHub `x-github-delivery`, ...), then sha256 of the raw body.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mapping.exceptions import MappingError
from mapping.templates import MISSING, Template, render

__all__ = ["InboundEvent", "derive_event_id", "derive_event_type", "now_iso", "variables_for"]


def now_iso() -> str:
    """The current UTC time as ISO 8601 with milliseconds (`2026-11-23T10:00:00.000Z`)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class InboundEvent:
    """A parsed event body plus what came with it.

    `event_id`/`event_type` are set when ingress already derived them (the queue envelope);
    otherwise the engine derives them from the rule file and the preset.
    """

    body: Any
    raw: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, Any] = field(default_factory=dict)
    received_at: str = field(default_factory=now_iso)
    event_id: str | None = None
    event_type: str | None = None
    label: str = ""


def variables_for(event: InboundEvent, source: str, event_id: str | None = None, event_type: str | None = None):
    """The JSONata variables of the contract: `$headers`, `$query`, `$source`, `$eventId`, ..."""
    return {
        "headers": {k.lower(): v for k, v in event.headers.items()},
        "query": dict(event.query),
        "source": source,
        "eventId": event_id,
        "eventType": event_type,
        "receivedAt": event.received_at,
    }


def derive_event_id(event: InboundEvent, source: str, preset: str, template: Template | None) -> str:
    """The provider's de-duplication id for `event` (see the module docstring for the order).

    Raises
    ------
    MappingError
        If the rule file's `event_id:` expression fails.
    """
    if event.event_id:
        return event.event_id
    value = _from_template(event, source, template, "event_id")
    if value is None:
        value = _preset(preset).event_id(_lower(event.headers), event.body)
    if value is None or value == "":
        raw = event.raw if event.raw is not None else json.dumps(event.body, sort_keys=True).encode()
        value = "sha256:" + hashlib.sha256(raw).hexdigest()
    return str(value)


def derive_event_type(event: InboundEvent, source: str, preset: str, template: Template | None) -> str | None:
    """The event's type (`customer.subscription.created`, `orders/create`, ...) or None."""
    if event.event_type:
        return event.event_type
    value = _from_template(event, source, template, "event_type")
    if value is None:
        value = _preset(preset).event_type(_lower(event.headers), event.body)
    return None if value is None else str(value)


def _from_template(event: InboundEvent, source: str, template: Template | None, path: str) -> Any:
    if template is None:
        return None
    value = render(template, event.body, variables_for(event, source), path)
    if value is MISSING:
        return None
    if isinstance(value, dict | list | bool):
        raise MappingError(f"must evaluate to a string or number, got {type(value).__name__}", path=path)
    return value


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _preset(name: str):
    from sources.presets import get_preset

    return get_preset(name)
