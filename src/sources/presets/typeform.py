"""Typeform: ``Typeform-Signature: sha256=<base64 HMAC-SHA256(secret, body)>`` (base64, not hex)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sources.presets._common import as_text, dig
from sources.presets._hmac_scheme import HmacPreset, HmacSpec
from sources.request import WebhookRequest


class TypeformPreset(HmacPreset):
    """Typeform form-response webhooks."""

    name = "typeform"
    spec = HmacSpec(header="typeform-signature", label="Typeform-Signature", encoding="base64", prefix="sha256=")

    def _messages(self, request: WebhookRequest, timestamp: str | None, options: Mapping[str, Any]) -> list[bytes]:
        return [request.body]

    def event_id(self, headers: Mapping[str, str], body: Any) -> str | None:
        """``$.event_id``."""
        return as_text(dig(body, "event_id"))

    def event_type(self, headers: Mapping[str, str], body: Any) -> str | None:
        """``$.event_type`` (``form_response``)."""
        return as_text(dig(body, "event_type"))
