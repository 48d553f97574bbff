"""Paddle Billing: ``Paddle-Signature: ts=<unix>;h1=<hex HMAC-SHA256(secret, ts + ":" + body)>``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sources.exceptions import SignatureError
from sources.presets._common import as_text, dig
from sources.presets._hmac_scheme import HmacPreset, HmacSpec, split_pairs
from sources.request import WebhookRequest


class PaddlePreset(HmacPreset):
    """Paddle Billing notifications; the ``pdl_ntfset_...`` secret is used as a string.

    The default tolerance is 300 s, not the official SDK's 5 s: Lambda cold starts
    and queueing can exceed 5 s, and ``event_id`` de-duplication covers replays.
    A rule that wants the SDK's strictness sets ``tolerance_seconds: 5``.
    """

    name = "paddle"
    default_tolerance = 300
    spec = HmacSpec(header="paddle-signature", label="Paddle-Signature", timestamped=True)

    def _split(self, value: str, spec: HmacSpec) -> tuple[list[str], str | None]:
        pairs = split_pairs(value, ";")
        stamps = {v for k, v in pairs if k == "ts"}
        signatures = [v for k, v in pairs if k == "h1"]  # several during secret rotation
        if not stamps:
            raise SignatureError("missing_timestamp", "The Paddle-Signature header carries no ts= timestamp")
        if len(stamps) > 1:
            raise SignatureError("malformed_signature", "The Paddle-Signature header carries conflicting ts= values")
        if not signatures:
            raise SignatureError("malformed_signature", "The Paddle-Signature header carries no h1= signature")
        return signatures, stamps.pop()

    def _messages(self, request: WebhookRequest, timestamp: str | None, options: Mapping[str, Any]) -> list[bytes]:
        return [f"{timestamp}:".encode("ascii") + request.body]

    def _signature_headers(self, signature: str, timestamp: str | None, spec: HmacSpec) -> dict[str, str]:
        return {spec.label: f"ts={timestamp};h1={signature}"}

    def event_id(self, headers: Mapping[str, str], body: Any) -> str | None:
        """``$.event_id`` (``notification_id`` differs per destination, so it is not used)."""
        return as_text(dig(body, "event_id"))

    def event_type(self, headers: Mapping[str, str], body: Any) -> str | None:
        """``$.event_type`` (``subscription.created``)."""
        return as_text(dig(body, "event_type"))
