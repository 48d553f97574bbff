"""Slack: ``X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:" + ts + ":" + body)>``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sources.presets._common import as_text, dig
from sources.presets._hmac_scheme import HmacPreset, HmacSpec
from sources.presets.base import HandshakeResponse
from sources.request import WebhookRequest


class SlackPreset(HmacPreset):
    """Slack Events API, slash commands and interactivity (JSON or form bodies)."""

    name = "slack"
    default_tolerance = 300  # Slack's documented recommendation, enforced by its SDKs
    spec = HmacSpec(
        header="x-slack-signature",
        label="X-Slack-Signature",
        prefix="v0=",
        timestamped=True,
        timestamp_header="x-slack-request-timestamp",
        timestamp_label="X-Slack-Request-Timestamp",
    )

    def _messages(self, request: WebhookRequest, timestamp: str | None, options: Mapping[str, Any]) -> list[bytes]:
        return [f"v0:{timestamp}:".encode("ascii") + request.body]

    def event_id(self, headers: Mapping[str, str], body: Any) -> str | None:
        """``$.event_id`` of Events API callbacks (None for commands and interactivity)."""
        return as_text(dig(body, "event_id"))

    def event_type(self, headers: Mapping[str, str], body: Any) -> str | None:
        """``$.event.type`` (``reaction_added``), else ``$.type`` (``url_verification``)."""
        return as_text(dig(body, "event", "type")) or as_text(dig(body, "type"))

    def handshake(self, request: WebhookRequest, body: Any) -> HandshakeResponse | None:
        """Echo ``url_verification`` challenges; acknowledge slash-command ``ssl_check`` pings."""
        if dig(body, "type") == "url_verification" and isinstance(dig(body, "challenge"), str):
            payload = json.dumps({"challenge": body["challenge"]}).encode("utf-8")
            return HandshakeResponse(200, "application/json", payload)
        if dig(body, "ssl_check") == "1":
            # Slack probes slash-command URLs with ssl_check=1 and only wants a 200.
            return HandshakeResponse(200, "text/plain", b"")
        return None
