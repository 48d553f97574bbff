"""Lemon Squeezy: ``X-Signature: <hex HMAC-SHA256(secret, body)>``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sources.presets._common import as_text, dig, header_text
from sources.presets._hmac_scheme import HmacPreset, HmacSpec
from sources.request import WebhookRequest


class LemonSqueezyPreset(HmacPreset):
    """Lemon Squeezy store webhooks. No delivery id: the caller falls back to the body hash."""

    name = "lemonsqueezy"
    spec = HmacSpec(header="x-signature", label="X-Signature")

    def _messages(self, request: WebhookRequest, timestamp: str | None, options: Mapping[str, Any]) -> list[bytes]:
        return [request.body]

    def event_type(self, headers: Mapping[str, str], body: Any) -> str | None:
        """``$.meta.event_name`` (``order_created``), else the ``X-Event-Name`` header."""
        return as_text(dig(body, "meta", "event_name")) or header_text(headers, "x-event-name")
