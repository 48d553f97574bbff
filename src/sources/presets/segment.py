"""Segment Webhooks destination: ``X-Signature: <hex HMAC-SHA1(shared secret, body)>``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sources.presets._common import as_text, dig
from sources.presets._hmac_scheme import HmacPreset, HmacSpec
from sources.request import WebhookRequest


class SegmentPreset(HmacPreset):
    """Segment Webhooks (Classic and Actions) destinations.

    Verified on the raw body only. Segment signs just the *first* event of a
    batched delivery; accepting that would let anyone append unsigned events to a
    captured one, so batched deliveries fail here: turn batching off in Segment.
    """

    name = "segment"
    spec = HmacSpec(header="x-signature", label="X-Signature", digest="sha1")

    def _messages(self, request: WebhookRequest, timestamp: str | None, options: Mapping[str, Any]) -> list[bytes]:
        return [request.body]

    def event_id(self, headers: Mapping[str, str], body: Any) -> str | None:
        """``$.messageId``."""
        return as_text(dig(body, "messageId"))

    def event_type(self, headers: Mapping[str, str], body: Any) -> str | None:
        """``$.event`` for ``track`` calls (``Signed Up``), else ``$.type`` (``identify``)."""
        kind = as_text(dig(body, "type"))
        if kind == "track":
            return as_text(dig(body, "event")) or kind
        return kind
