"""GitHub: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sources.presets._common import as_text, dig, header_text
from sources.presets._hmac_scheme import HmacPreset, HmacSpec
from sources.request import WebhookRequest


class GitHubPreset(HmacPreset):
    """GitHub repository, organisation and app webhooks.

    Only the SHA-256 header is accepted. GitHub sends it on every delivery, and
    falling back to the legacy ``X-Hub-Signature`` (SHA-1) would let a request
    choose the weaker scheme.
    """

    name = "github"
    spec = HmacSpec(header="x-hub-signature-256", label="X-Hub-Signature-256", prefix="sha256=")

    def _messages(self, request: WebhookRequest, timestamp: str | None, options: Mapping[str, Any]) -> list[bytes]:
        return [request.body]

    def _id_headers(self, event_id: str | None) -> dict[str, str]:
        return {"X-GitHub-Delivery": event_id} if event_id else {}

    def event_id(self, headers: Mapping[str, str], body: Any) -> str | None:
        """The ``X-GitHub-Delivery`` GUID.

        GitHub shares one GUID across every hook subscribed to the same event, so a
        receiver behind several hooks should key on ``X-GitHub-Hook-ID`` too (rule-level).
        """
        return header_text(headers, "x-github-delivery")

    def event_type(self, headers: Mapping[str, str], body: Any) -> str | None:
        """``X-GitHub-Event``, plus ``"." + action`` when the body has one (``issues.opened``)."""
        event = header_text(headers, "x-github-event")
        if event is None:
            return None
        action = as_text(dig(body, "action"))
        return f"{event}.{action}" if action else event
