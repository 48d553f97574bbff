"""Zendesk: ``X-Zendesk-Webhook-Signature: <base64 HMAC-SHA256(secret, timestamp + body)>``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sources.presets._common import as_text, dig, header_text, parse_rfc3339
from sources.presets._hmac_scheme import HmacPreset, HmacSpec
from sources.request import WebhookRequest


class ZendeskPreset(HmacPreset):
    """Zendesk webhooks. The secret is used as-is, even though it looks like base64."""

    name = "zendesk"
    default_tolerance = 300  # Zendesk prescribes none; 5 minutes like everyone else
    spec = HmacSpec(
        header="x-zendesk-webhook-signature",
        label="X-Zendesk-Webhook-Signature",
        encoding="base64",
        timestamped=True,
        timestamp_header="x-zendesk-webhook-signature-timestamp",
        timestamp_label="X-Zendesk-Webhook-Signature-Timestamp",
    )

    def _messages(self, request: WebhookRequest, timestamp: str | None, options: Mapping[str, Any]) -> list[bytes]:
        # No separator between the RFC 3339 timestamp and the body.
        return [(timestamp or "").encode("utf-8") + request.body]

    def _seconds(self, timestamp: str, spec: HmacSpec) -> float:
        return parse_rfc3339(timestamp, spec.timestamp_label or spec.label)

    def _format_time(self, timestamp: int) -> str:
        return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _id_headers(self, event_id: str | None) -> dict[str, str]:
        return {"X-Zendesk-Webhook-Invocation-Id": event_id} if event_id else {}

    def event_id(self, headers: Mapping[str, str], body: Any) -> str | None:
        """The ``X-Zendesk-Webhook-Invocation-Id`` header."""
        return header_text(headers, "x-zendesk-webhook-invocation-id")

    def event_type(self, headers: Mapping[str, str], body: Any) -> str | None:
        """``$.type`` (``zen:event-type:user.created``)."""
        return as_text(dig(body, "type"))
