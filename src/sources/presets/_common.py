"""Shared building blocks for the verification presets (stdlib only)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sources.exceptions import SignatureError

DIGESTS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}
ENCODINGS = ("hex", "base64")


def usable_secrets(secrets: Sequence[str] | str | None) -> list[str]:
    """Return the non-empty secrets, or raise ``no_secret``.

    An empty string is dropped rather than used: an HMAC keyed with ``""`` is
    something anyone can compute, so it must never count as configured.
    """
    if isinstance(secrets, str):  # one secret passed bare; iterating it would use single characters
        secrets = [secrets]
    keys = [s for s in (secrets or ()) if isinstance(s, str) and s]
    if not keys:
        raise SignatureError("no_secret", "No secret is configured for this source")
    return keys


def resolve_tolerance(default: int | None, tolerance: int | None) -> int | None:
    """Pick the rule's ``tolerance_seconds`` over the preset default, validating it."""
    if tolerance is None:
        return default
    if isinstance(tolerance, bool) or not isinstance(tolerance, int) or tolerance <= 0:
        raise ValueError("tolerance must be a positive number of seconds")
    return tolerance


def require_header(headers: Mapping[str, str], name: str, label: str) -> str:
    """Return a non-blank header value or raise ``missing_signature``."""
    value = headers.get(name)
    if value is None or not value.strip():
        raise SignatureError("missing_signature", f"Missing {label} header")
    return value.strip()


def require_timestamp(headers: Mapping[str, str], name: str, label: str) -> str:
    """Return a non-blank timestamp header value or raise ``missing_timestamp``."""
    value = headers.get(name)
    if value is None or not value.strip():
        raise SignatureError("missing_timestamp", f"Missing {label} header")
    return value.strip()


def hmac_digest(key: bytes, message: bytes, digest: str = "sha256") -> bytes:
    """Return the raw HMAC of ``message``."""
    return hmac.new(key, message, DIGESTS[digest]).digest()


def any_match(expected: Iterable[bytes], candidates: Sequence[bytes]) -> bool:
    """Constant-time check that any expected value equals any candidate.

    Every pair is compared (no early exit), so timing does not reveal which
    secret or which listed signature matched.
    """
    matched = False
    for want in expected:
        for got in candidates:
            matched |= hmac.compare_digest(want, got)
    return matched


def decode_signature(text: str, encoding: str) -> bytes | None:
    """Decode one hex or base64 signature; None when it is not well-formed."""
    try:
        if encoding == "hex":
            return bytes.fromhex(text) if text else None
        return base64.b64decode(text, validate=True) if text else None
    except (ValueError, binascii.Error):
        return None


def encode_signature(raw: bytes, encoding: str) -> str:
    """Encode a raw signature as lower-case hex or standard base64."""
    return raw.hex() if encoding == "hex" else base64.b64encode(raw).decode("ascii")


def decode_all(texts: Iterable[str], encoding: str, label: str) -> list[bytes]:
    """Decode every candidate, dropping malformed ones; raise if none is usable.

    Malformed entries are skipped rather than fatal because providers list
    placeholders next to real signatures (Paddle's SDK tests send ``h1=dummy``).
    """
    decoded = [raw for raw in (decode_signature(t.strip(), encoding) for t in texts) if raw is not None]
    if not decoded:
        raise SignatureError("malformed_signature", f"The {label} header holds no well-formed signature")
    return decoded


def parse_unix(raw: str, label: str, *, millis: bool = False) -> float:
    """Parse a unix timestamp (seconds, or milliseconds when ``millis``) into seconds."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 16:
        raise SignatureError("malformed_signature", f"The {label} timestamp is not a unix time")
    return int(raw) / 1000 if millis else float(int(raw))


def parse_rfc3339(raw: str, label: str) -> float:
    """Parse an RFC 3339 timestamp with an explicit offset (``Z`` or ``+hh:mm``) into unix seconds."""
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        parsed = None
    # A naive time would silently be read in the Lambda's local zone, so require an offset.
    if parsed is None or parsed.tzinfo is None or "T" not in raw.upper():
        raise SignatureError("malformed_signature", f"The {label} timestamp is not an RFC 3339 time")
    return parsed.timestamp()


def check_window(signed_at: float, now: float, tolerance: int | None) -> None:
    """Raise ``stale_timestamp`` when ``signed_at`` is more than ``tolerance`` s from ``now``, either way."""
    if tolerance is None:
        return
    if now - signed_at > tolerance:
        raise SignatureError("stale_timestamp", f"The signed timestamp is older than the {tolerance} s tolerance")
    if signed_at - now > tolerance:
        raise SignatureError("stale_timestamp", f"The signed timestamp is more than {tolerance} s in the future")


def dig(value: Any, *path: str) -> Any:
    """Follow dict keys; None as soon as a step is not a dict or the key is absent."""
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def as_text(value: Any) -> str | None:
    """A non-empty string as is, an integer as its digits, anything else None."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def header_text(headers: Mapping[str, str], *names: str) -> str | None:
    """The first non-blank header among ``names`` (looked up case-insensitively)."""
    lowered = {str(k).lower(): v for k, v in headers.items()}
    for name in names:
        value = lowered.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def check_url_option(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Validate the ``url`` option of URL-signing presets."""
    if "url" not in options:
        return []
    url = options["url"]
    if not isinstance(url, str):
        return [("url", "must be a string")]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return [("url", "must be an absolute http(s) URL, the one registered with the provider")]
    return []


def signed_url(request_url: str, options: Mapping[str, Any]) -> str:
    """The URL a URL-signing provider signed: the rule's ``url`` option, else the request URL.

    Behind API Gateway custom domains and stage mappings the URL Lambda sees
    differs from the one the provider called, so the configured one wins.
    """
    url = options.get("url")
    return url if isinstance(url, str) and url else request_url
