"""Intercom: ``X-Hub-Signature: sha1=<hex HMAC-SHA1(client secret, body)>``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sources.presets._common import as_text, dig
from sources.presets._hmac_scheme import HmacPreset, HmacSpec
from sources.request import WebhookRequest


class IntercomPreset(HmacPreset):
    """Intercom webhook notifications.

    The header name is the same as GitHub's legacy SHA-1 one, so the preset is
    chosen by the rule's configuration, never by sniffing headers.
    """

    name = "intercom"
    spec = HmacSpec(header="x-hub-signature", label="X-Hub-Signature", digest="sha1", prefix="sha1=")

    def _messages(self, request: WebhookRequest, timestamp: str | None, options: Mapping[str, Any]) -> list[bytes]:
        return [request.body]

    def event_id(self, headers: Mapping[str, str], body: Any) -> str | None:
        """``$.id`` of the notification (``notif_...``)."""
        return as_text(dig(body, "id"))

    def event_type(self, headers: Mapping[str, str], body: Any) -> str | None:
        """``$.topic`` (``contact.user.created``)."""
        return as_text(dig(body, "topic"))
