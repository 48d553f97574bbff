"""Queue messages: the envelope ingress writes, and every shape dispatch accepts.

Dispatch reads one SQS queue fed by:

* ingress: `{"kind": "braze-adapter/event", ...}` with the verified webhook inline, or, when that
  would not fit in one SQS message, only its ids and `archive_key`: dispatch then reads the body,
  headers, query and event type from the archive record ingress wrote;
* your own producers: any JSON body, with the rule file named by the `source` message attribute;
* SNS (without raw delivery): the notification wrapper; the source comes from the `source`
  message attribute, else the topic name;
* EventBridge rules targeting the queue: the event itself; the source is the event's `source`
  with every character outside `[a-z0-9_-]` turned into `-` (`com.shop.orders` -> `com-shop-orders`),
  `$eventType` is its `detail-type` and the event id its `id`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ENVELOPE_KIND",
    "MAX_EVENT_ID_LENGTH",
    "MAX_MESSAGE_BYTES",
    "EnvelopeError",
    "QueuedEvent",
    "bounded_event_id",
    "build_envelope",
    "parse_message",
    "source_from_name",
]

ENVELOPE_KIND = "braze-adapter/event"
# SQS refuses larger messages. Its limit was 256 KiB for years and a queue's MaximumMessageSize may
# still say so (it can now be up to 1 MiB): envelopes fit either way. The message attributes count
# too: source and event id, at most 64 and 256 characters (up to 4 bytes each).
MAX_MESSAGE_BYTES = 262_144 - 2_048
# Real provider ids are UUIDs or short tokens; anything longer comes from a broken `event_id:`
# expression or a hostile body, and would bloat the ledger, logs and every message (see bounded_event_id).
MAX_EVENT_ID_LENGTH = 256
_SOURCE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# Characters JSON leaves as they are but SQS refuses in a message body (lone surrogates, U+FFFE, U+FFFF).
_NOT_FOR_SQS = re.compile(r"[\ud800-\udfff\ufffe\uffff]")


class EnvelopeError(ValueError):
    """A queue message that cannot become an event (the reason goes to the dead-letter queue)."""


@dataclass(frozen=True)
class QueuedEvent:
    """One event read from the queue, before its rule file is applied."""

    source: str
    origin: str  # ingress | raw | sns | eventbridge
    raw: bytes | None = None  # None: the body is in the archive
    body: Any = None  # already parsed (JSON producers); None when `raw` must be parsed
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, Any] = field(default_factory=dict)
    received_at: str | None = None
    event_id: str | None = None
    event_type: str | None = None
    archive_key: str | None = None


def bounded_event_id(event_id: str) -> str:
    """`event_id`, or `id-sha256:<hex>` of it when it is longer than `MAX_EVENT_ID_LENGTH` characters.

    Hashing rather than refusing (400) keeps such webhooks flowing, and the same id always hashes to
    the same value, so a provider's retries are still recognised as duplicates.
    """
    if len(event_id) <= MAX_EVENT_ID_LENGTH:
        return event_id
    return "id-sha256:" + hashlib.sha256(event_id.encode("utf-8", "surrogatepass")).hexdigest()


def build_envelope(
    *,
    source: str,
    event_id: str,
    event_type: str | None,
    received_at: str,
    headers: Mapping[str, str],
    query: Mapping[str, Any],
    raw: bytes,
    archive_key: str,
) -> str:
    """The SQS message body ingress sends for a verified webhook (headers already redacted).

    Everything inline when the serialized message fits in `MAX_MESSAGE_BYTES` (JSON escaping can make
    it several times larger than the raw body); otherwise only the ids and `archive_key`, because the
    archive record holds the body, headers, query and event type too.
    """
    envelope: dict[str, Any] = {
        "kind": ENVELOPE_KIND,
        "v": 1,
        "source": source,
        "event_id": event_id,
        "received_at": received_at,
        "archive_key": archive_key,
    }
    inline = {"event_type": event_type, "headers": dict(headers), "query": dict(query)}
    try:
        inline["body"] = raw.decode("utf-8")
    except UnicodeDecodeError:
        inline["body_base64"] = base64.b64encode(raw).decode()
    message = _serialize(envelope | inline)
    if len(message.encode()) <= MAX_MESSAGE_BYTES:
        return message
    return _serialize(envelope)


def _serialize(envelope: dict[str, Any]) -> str:
    text = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)
    # Escape what SQS would refuse (only ever inside JSON strings, where an escape means the same).
    return _NOT_FOR_SQS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def parse_message(body: str, attributes: Mapping[str, Any] | None = None) -> QueuedEvent:
    """Turn an SQS message into a `QueuedEvent`.

    `attributes` are the SQS message attributes as the Lambda event carries them
    (`{"source": {"stringValue": "orders", "dataType": "String"}}`).

    Raises
    ------
    EnvelopeError
        For a body that is not JSON, an envelope of an unknown version, or no usable source.
    """
    try:
        message = json.loads(body)
    except ValueError as exc:
        raise EnvelopeError(f"message body is not JSON: {exc}") from None
    attribute_source = _attribute(attributes, "source")
    if isinstance(message, dict) and message.get("kind") == ENVELOPE_KIND:
        return _from_envelope(message)
    if isinstance(message, dict) and message.get("Type") == "Notification" and "Message" in message:
        return _from_sns(message, attribute_source)
    if _is_eventbridge(message):
        return _from_eventbridge(message, attribute_source, body.encode())
    if attribute_source is None:
        raise EnvelopeError("raw message without a `source` message attribute naming its rule file")
    return QueuedEvent(source=_checked(attribute_source), origin="raw", raw=body.encode(), body=message)


def source_from_name(name: str) -> str:
    """A rule-file source name from an EventBridge source or an SNS topic name."""
    return re.sub(r"[^a-z0-9_-]", "-", name.lower()).strip("-")[:64]


def _from_envelope(message: dict[str, Any]) -> QueuedEvent:
    if message.get("v") != 1:
        raise EnvelopeError(f"unsupported envelope version {message.get('v')!r}")
    raw = None
    if "body" in message:
        raw = str(message["body"]).encode("utf-8")
    elif "body_base64" in message:
        raw = base64.b64decode(message["body_base64"])
    elif not message.get("archive_key"):
        raise EnvelopeError("envelope has neither a body nor an archive key")
    return QueuedEvent(
        source=_checked(str(message.get("source", ""))),
        origin="ingress",
        raw=raw,
        headers=message.get("headers") or {},
        query=message.get("query") or {},
        received_at=message.get("received_at"),
        event_id=message.get("event_id"),
        event_type=message.get("event_type"),
        archive_key=message.get("archive_key"),
    )


def _from_sns(message: dict[str, Any], attribute_source: str | None) -> QueuedEvent:
    sns_attributes = message.get("MessageAttributes") or {}
    source = (sns_attributes.get("source") or {}).get("Value") or attribute_source
    if source is None and message.get("TopicArn"):
        source = source_from_name(str(message["TopicArn"]).rsplit(":", 1)[-1])
    inner = str(message["Message"])
    try:
        parsed = json.loads(inner)
    except ValueError as exc:
        raise EnvelopeError(f"SNS message is not JSON: {exc}") from None
    if _is_eventbridge(parsed):
        return _from_eventbridge(parsed, source, inner.encode())
    if source is None:
        raise EnvelopeError("SNS message without a source attribute or topic")
    return QueuedEvent(
        source=_checked(source), origin="sns", raw=inner.encode(), body=parsed, received_at=message.get("Timestamp")
    )


def _from_eventbridge(event: dict[str, Any], attribute_source: str | None, raw: bytes) -> QueuedEvent:
    source = attribute_source or source_from_name(str(event["source"]))
    return QueuedEvent(
        source=_checked(source),
        origin="eventbridge",
        raw=raw,
        body=event,
        received_at=event.get("time"),
        event_id=str(event["id"]) if event.get("id") else None,
        event_type=str(event["detail-type"]),
    )


def _is_eventbridge(message: Any) -> bool:
    return isinstance(message, dict) and {"detail-type", "source", "detail"} <= message.keys()


def _attribute(attributes: Mapping[str, Any] | None, name: str) -> str | None:
    value = (attributes or {}).get(name)
    if isinstance(value, Mapping):
        value = value.get("stringValue") or value.get("StringValue")
    return str(value) if value else None


def _checked(source: str) -> str:
    if not _SOURCE.match(source):
        raise EnvelopeError(f"{source!r} is not a valid source name ([a-z0-9][a-z0-9_-]{{0,63}})")
    return source
