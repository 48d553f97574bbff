"""Shopify: ``X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(client secret, body)>``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sources.presets._common import header_text
from sources.presets._hmac_scheme import HmacPreset, HmacSpec
from sources.request import WebhookRequest

_CLASSIC = HmacSpec(header="x-shopify-hmac-sha256", label="X-Shopify-Hmac-Sha256", encoding="base64")
# Shopify's Events (preview) deliveries drop the X- prefix; same value, same scheme.
_EVENTS = HmacSpec(header="shopify-hmac-sha256", label="Shopify-Hmac-Sha256", encoding="base64")


class ShopifyPreset(HmacPreset):
    """Shopify app webhooks. No signed timestamp: de-duplication is the only replay defence."""

    name = "shopify"
    spec = _CLASSIC

    def _spec(self, options: Mapping[str, Any], request: WebhookRequest | None = None) -> HmacSpec:
        if request is not None and request.header(_CLASSIC.header) is None and request.header(_EVENTS.header):
            return _EVENTS
        return _CLASSIC

    def _messages(self, request: WebhookRequest, timestamp: str | None, options: Mapping[str, Any]) -> list[bytes]:
        return [request.body]

    def _id_headers(self, event_id: str | None) -> dict[str, str]:
        return {"X-Shopify-Webhook-Id": event_id} if event_id else {}

    def event_id(self, headers: Mapping[str, str], body: Any) -> str | None:
        """``X-Shopify-Webhook-Id``: one delivery, the same on retries (not ``X-Shopify-Event-Id``)."""
        return header_text(headers, "x-shopify-webhook-id", "shopify-webhook-id")

    def event_type(self, headers: Mapping[str, str], body: Any) -> str | None:
        """``X-Shopify-Topic``, e.g. ``orders/create``."""
        return header_text(headers, "x-shopify-topic", "shopify-topic")
