"""The ``t=<unix>,v1=<hex>`` layout shared by Stripe and Calendly."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sources.exceptions import SignatureError
from sources.presets._hmac_scheme import HmacPreset, HmacSpec, split_pairs
from sources.request import WebhookRequest


class TimestampV1Preset(HmacPreset):
    """HMAC-SHA256 of ``t + "." + body``, sent as ``t=<unix>,v1=<hex>[,v1=<hex>...]``."""

    def _split(self, value: str, spec: HmacSpec) -> tuple[list[str], str | None]:
        pairs = split_pairs(value, ",")
        stamps = {v for k, v in pairs if k == "t"}
        # v0 (Stripe test-mode legacy) and unknown schemes are ignored, as the SDKs do.
        signatures = [v for k, v in pairs if k == "v1"]
        if not stamps:
            raise SignatureError("missing_timestamp", f"The {spec.label} header carries no t= timestamp")
        if len(stamps) > 1:
            raise SignatureError("malformed_signature", f"The {spec.label} header carries conflicting t= values")
        if not signatures:
            raise SignatureError("malformed_signature", f"The {spec.label} header carries no v1= signature")
        return signatures, stamps.pop()

    def _messages(self, request: WebhookRequest, timestamp: str | None, options: Mapping[str, Any]) -> list[bytes]:
        return [f"{timestamp}.".encode("ascii") + request.body]

    def _signature_headers(self, signature: str, timestamp: str | None, spec: HmacSpec) -> dict[str, str]:
        return {spec.label: f"t={timestamp},v1={signature}"}
