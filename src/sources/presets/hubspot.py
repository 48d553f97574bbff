"""HubSpot: v3 ``X-HubSpot-Signature-v3`` (HMAC-SHA256), legacy v1/v2 ``X-HubSpot-Signature`` (SHA-256)."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

from sources.exceptions import SignatureError
from sources.presets._common import as_text, check_url_option, decode_all, dig, parse_unix, require_header, signed_url
from sources.presets._hmac_scheme import HmacPreset, HmacSpec
from sources.request import WebhookRequest

# HubSpot's docs list these escapes as decoded in the URI it signs for v3.
_V3_DECODES = {
    "3A": ":",
    "2F": "/",
    "3F": "?",
    "40": "@",
    "21": "!",
    "24": "$",
    "27": "'",
    "28": "(",
    "29": ")",
    "2A": "*",
    "2C": ",",
    "3B": ";",
}
_ESCAPE = re.compile(r"%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)", re.IGNORECASE)
_LEGACY = HmacSpec(header="x-hubspot-signature", label="X-HubSpot-Signature")


def _v3_uri(url: str) -> str:
    return _ESCAPE.sub(lambda m: _V3_DECODES[m.group(1).upper()], url)


class HubSpotPreset(HmacPreset):
    """HubSpot app webhooks (v3 signatures; v1/v2 only when ``allow_legacy`` is set).

    Options
    -------
    url : str, optional
        Public webhook URL as configured in the app; defaults to the request URL.
    allow_legacy : bool, optional
        Accept the legacy v1/v2 header when no v3 header is present. Off by default:
        v1/v2 are unkeyed SHA-256 with no timestamp, and accepting them lets anyone
        holding an old captured delivery replay it by dropping the v3 headers.
    """

    name = "hubspot"
    default_tolerance = 300  # HubSpot: reject v3 requests older than 5 minutes
    allowed_options = frozenset({"url", "allow_legacy"})
    spec = HmacSpec(
        header="x-hubspot-signature-v3",
        label="X-HubSpot-Signature-v3",
        encoding="base64",
        timestamped=True,
        timestamp_header="x-hubspot-request-timestamp",
        timestamp_label="X-HubSpot-Request-Timestamp",
    )

    def _check_options(self, options: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems = check_url_option(options)
        if "allow_legacy" in options and not isinstance(options["allow_legacy"], bool):
            problems.append(("allow_legacy", "must be true or false"))
        return problems

    def _messages(self, request: WebhookRequest, timestamp: str | None, options: Mapping[str, Any]) -> list[bytes]:
        url = signed_url(request.url, options)
        return [
            f"{request.method}{uri}".encode() + request.body + (timestamp or "").encode("ascii")
            for uri in dict.fromkeys([_v3_uri(url), url])
        ]

    def _seconds(self, timestamp: str, spec: HmacSpec) -> float:
        return parse_unix(timestamp, spec.timestamp_label or spec.label, millis=True)

    def _format_time(self, timestamp: int) -> str:
        return str(timestamp * 1000)

    def _verify(
        self, request: WebhookRequest, secrets: list[str], options: Mapping[str, Any], tolerance: int | None, now: float
    ) -> None:
        if request.header(self.spec.header) is None and options.get("allow_legacy") and request.header(_LEGACY.header):
            self._verify_legacy(request, secrets, options)
        else:
            super()._verify(request, secrets, options, tolerance, now)

    def _verify_legacy(self, request: WebhookRequest, secrets: list[str], options: Mapping[str, Any]) -> None:
        value = require_header(request.headers, _LEGACY.header, _LEGACY.label)
        candidates = decode_all([value], "hex", _LEGACY.label)
        version = (request.header("x-hubspot-signature-version") or "").strip().lower()
        if version not in ("", "v1", "v2"):
            raise SignatureError("malformed_signature", "Unknown X-HubSpot-Signature-Version")
        url = signed_url(request.url, options).encode("utf-8")
        matched = False
        for secret in secrets:
            # Plain SHA-256 over secret + ..., not an HMAC: that is how HubSpot defined v1/v2.
            sources = []
            if version in ("", "v1"):
                sources.append(secret.encode("utf-8") + request.body)
            if version in ("", "v2"):
                sources.append(secret.encode("utf-8") + request.method.encode("ascii") + url + request.body)
            for source in sources:
                digest = hashlib.sha256(source).digest()
                for candidate in candidates:
                    matched |= hmac.compare_digest(digest, candidate)
        if not matched:
            raise SignatureError(
                "bad_signature", "The X-HubSpot-Signature signature does not match any configured secret"
            )

    def event_id(self, headers: Mapping[str, str], body: Any) -> str | None:
        """``eventId`` of a one-event delivery; for a batch, a hash of all its ``eventId`` values.

        The body hash would not do: ``attemptNumber`` changes on every retry.
        """
        events = body if isinstance(body, list) else [body]
        ids = [as_text(dig(event, "eventId")) for event in events]
        known = [i for i in ids if i is not None]
        if not known or len(known) != len(ids):
            return None
        if len(known) == 1:
            return known[0]
        return "batch-" + hashlib.sha256(",".join(known).encode("utf-8")).hexdigest()

    def event_type(self, headers: Mapping[str, str], body: Any) -> str | None:
        """``subscriptionType`` (``contact.creation``), when every event in the delivery shares it."""
        events = body if isinstance(body, list) else [body]
        kinds = {as_text(dig(event, "subscriptionType")) for event in events}
        return kinds.pop() if len(kinds) == 1 else None
