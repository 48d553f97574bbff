"""Twilio: ``X-Twilio-Signature: <base64 HMAC-SHA1(auth token, URL + sorted form params)>``."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

from sources.exceptions import SignatureError
from sources.presets._common import check_url_option, header_text, signed_url
from sources.presets._hmac_scheme import HmacPreset, HmacSpec
from sources.request import WebhookRequest


def _port_variants(url: str) -> list[str]:
    """The URL as given, without its port and with the scheme's default port.

    Twilio may sign either form (its SDK checks both), so all are candidates.
    """
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return [url]
    netloc = parts.netloc
    if port is not None:
        other = netloc.rsplit(":", 1)[0]
    else:
        other = f"{netloc}:{443 if parts.scheme == 'https' else 80}"
    # Replace only the authority right after "scheme://", leaving the rest byte-identical.
    prefix = f"{parts.scheme}://"
    variant = prefix + other + url[len(prefix) + len(netloc) :] if url.startswith(prefix + netloc) else url
    return list(dict.fromkeys([url, variant]))


def _body_hash(url: str) -> str | None:
    values = parse_qs(urlsplit(url).query).get("bodySHA256")
    return values[0] if values else None


def _form_suffix(body: bytes) -> str:
    # Sorted by name, then by value, with duplicates collapsed: exactly what the
    # official SDK's compute_signature does, which is what Twilio is tested against.
    pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    grouped: dict[str, set[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, set()).add(value)
    return "".join(name + value for name in sorted(grouped) for value in sorted(grouped[name]))


class TwilioPreset(HmacPreset):
    """Twilio Messaging/Voice webhooks (form posts, or JSON with ``bodySHA256`` in the URL).

    Options
    -------
    url : str, optional
        The public webhook URL as configured in Twilio, query string included;
        defaults to the request URL.
    """

    name = "twilio"
    allowed_options = frozenset({"url"})
    spec = HmacSpec(header="x-twilio-signature", label="X-Twilio-Signature", digest="sha1", encoding="base64")

    def _check_options(self, options: Mapping[str, Any]) -> list[tuple[str, str]]:
        return check_url_option(options)

    def _messages(self, request: WebhookRequest, timestamp: str | None, options: Mapping[str, Any]) -> list[bytes]:
        url = signed_url(request.url, options)
        # With bodySHA256 in the URL the HMAC covers the URL only; the body is bound by its hash.
        suffix = "" if _body_hash(url) is not None else _form_suffix(request.body)
        return [(variant + suffix).encode("utf-8") for variant in _port_variants(url)]

    def _verify(
        self, request: WebhookRequest, secrets: list[str], options: Mapping[str, Any], tolerance: int | None, now: float
    ) -> None:
        super()._verify(request, secrets, options, tolerance, now)
        expected = _body_hash(signed_url(request.url, options))
        if expected is not None:
            actual = hashlib.sha256(request.body).hexdigest()
            if not hmac.compare_digest(actual.encode("ascii"), expected.lower().encode("utf-8", "replace")):
                raise SignatureError("bad_signature", "The body does not match the signed bodySHA256 URL parameter")

    def _sign(
        self,
        body: bytes,
        secret: str,
        timestamp: int,
        url: str | None,
        event_id: str | None,
        options: Mapping[str, Any],
    ) -> dict[str, str]:
        if not (url or options.get("url")):
            raise ValueError("twilio signs the URL: pass url= or set the url option")
        headers = super()._sign(body, secret, timestamp, url, event_id, options)
        if event_id:
            headers["I-Twilio-Idempotency-Token"] = event_id
        return headers

    def event_id(self, headers: Mapping[str, str], body: Any) -> str | None:
        """The ``I-Twilio-Idempotency-Token`` header, else None (the caller hashes the body)."""
        return header_text(headers, "i-twilio-idempotency-token")

    def event_type(self, headers: Mapping[str, str], body: Any) -> str | None:
        """None: Twilio names no event type (rules read ``$.MessageStatus`` and friends)."""
        return None
