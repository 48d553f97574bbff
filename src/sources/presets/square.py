"""Square: ``x-square-hmacsha256-signature: <base64 HMAC-SHA256(key, notification URL + body)>``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sources.presets._common import as_text, check_url_option, dig, signed_url
from sources.presets._hmac_scheme import HmacPreset, HmacSpec
from sources.request import WebhookRequest


class SquarePreset(HmacPreset):
    """Square webhook subscriptions; the signature covers the registered notification URL.

    Options
    -------
    url : str, optional
        The notification URL exactly as registered in Square (recommended behind
        custom domains); defaults to the request URL.
    """

    name = "square"
    allowed_options = frozenset({"url"})
    spec = HmacSpec(header="x-square-hmacsha256-signature", label="x-square-hmacsha256-signature", encoding="base64")

    def _check_options(self, options: Mapping[str, Any]) -> list[tuple[str, str]]:
        return check_url_option(options)

    def _messages(self, request: WebhookRequest, timestamp: str | None, options: Mapping[str, Any]) -> list[bytes]:
        return [signed_url(request.url, options).encode("utf-8") + request.body]

    def event_id(self, headers: Mapping[str, str], body: Any) -> str | None:
        """``$.event_id``, documented by Square as the idempotency value."""
        return as_text(dig(body, "event_id"))

    def event_type(self, headers: Mapping[str, str], body: Any) -> str | None:
        """``$.type`` (``payment.updated``)."""
        return as_text(dig(body, "type"))
