"""Twitch EventSub: ``Twitch-Eventsub-Message-Signature: sha256=<hex HMAC(secret, id + ts + body)>``."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sources.presets._common import as_text, dig, header_text, parse_rfc3339, require_header
from sources.presets._hmac_scheme import HmacPreset, HmacSpec
from sources.presets.base import HandshakeResponse
from sources.request import WebhookRequest

_ID = "twitch-eventsub-message-id"
_TYPE = "twitch-eventsub-message-type"


class TwitchPreset(HmacPreset):
    """Twitch EventSub over the webhook transport."""

    name = "twitch"
    default_tolerance = 600  # Twitch tells receivers to drop messages older than 10 minutes
    spec = HmacSpec(
        header="twitch-eventsub-message-signature",
        label="Twitch-Eventsub-Message-Signature",
        prefix="sha256=",
        timestamped=True,
        timestamp_header="twitch-eventsub-message-timestamp",
        timestamp_label="Twitch-Eventsub-Message-Timestamp",
    )

    def _messages(self, request: WebhookRequest, timestamp: str | None, options: Mapping[str, Any]) -> list[bytes]:
        # The message id is signed too; without it nothing can match.
        message_id = require_header(request.headers, _ID, "Twitch-Eventsub-Message-Id")
        return [(message_id + (timestamp or "")).encode("utf-8") + request.body]

    def _seconds(self, timestamp: str, spec: HmacSpec) -> float:
        return parse_rfc3339(timestamp, spec.timestamp_label or spec.label)

    def _format_time(self, timestamp: int) -> str:
        # Twitch sends nanosecond precision; keep the same shape so fixtures look real.
        return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000000000Z")

    def _id_headers(self, event_id: str | None) -> dict[str, str]:
        return {
            "Twitch-Eventsub-Message-Id": event_id or str(uuid.uuid4()),
            "Twitch-Eventsub-Message-Type": "notification",
        }

    def event_id(self, headers: Mapping[str, str], body: Any) -> str | None:
        """The ``Twitch-Eventsub-Message-Id`` header (the same on resends)."""
        return header_text(headers, _ID)

    def event_type(self, headers: Mapping[str, str], body: Any) -> str | None:
        """``$.subscription.type`` (``channel.follow``)."""
        return as_text(dig(body, "subscription", "type"))

    def handshake(self, request: WebhookRequest, body: Any) -> HandshakeResponse | None:
        """Echo the ``webhook_callback_verification`` challenge as ``text/plain``."""
        if request.header(_TYPE) != "webhook_callback_verification":
            return None
        challenge = dig(body, "challenge")
        if not isinstance(challenge, str):
            return None
        return HandshakeResponse(200, "text/plain", challenge.encode("utf-8"))
