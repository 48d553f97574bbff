"""Standard Webhooks (Svix, Clerk, Resend...): ``webhook-signature: v1,<b64> v1a,<b64> ...``.

Signed content is ``id + "." + timestamp + "." + body``. ``v1`` is HMAC-SHA256
keyed with the base64-decoded ``whsec_`` secret; ``v1a`` is Ed25519, verified with
a ``whpk_`` public key. Svix-branded senders use ``svix-*`` header names.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping
from typing import Any

from sources.exceptions import SignatureError
from sources.presets._common import (
    any_match,
    as_text,
    check_window,
    decode_signature,
    dig,
    header_text,
    hmac_digest,
    parse_unix,
    require_header,
    require_timestamp,
)
from sources.presets.base import Preset
from sources.request import WebhookRequest

_FAMILIES = ("webhook", "svix")


def parse_signature_header(value: str) -> list[tuple[str, str]]:
    """Split a signature header into ``(version, signature)`` pairs.

    Parameters
    ----------
    value : str
        E.g. ``"v1,abc= v1a,def="``.

    Returns
    -------
    list of (str, str)
        Entries in order; items without a comma are dropped.
    """
    pairs = []
    for item in value.split():
        version, comma, signature = item.partition(",")
        if comma:
            pairs.append((version, signature))
    return pairs


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _split_secrets(secrets: list[str]) -> tuple[list[bytes], list[bytes]]:
    """Return (HMAC keys, Ed25519 public keys); undecodable secrets are skipped."""
    hmac_keys: list[bytes] = []
    public_keys: list[bytes] = []
    for secret in secrets:
        if secret.startswith("whpk_"):
            key = _b64(secret[5:])
            if key is not None and len(key) == 32:
                public_keys.append(key)
        elif secret.startswith("whsk_"):
            public = _public_from_private(secret)
            if public is not None:
                public_keys.append(public)
        else:
            # The libraries accept the secret with or without its prefix.
            key = _b64(secret[6:] if secret.startswith("whsec_") else secret)
            if key:
                hmac_keys.append(key)
    return hmac_keys, public_keys


def _seed(secret: str) -> bytes | None:
    raw = _b64(secret[5:])
    # 32 bytes is a bare seed; 64 is libsodium's seed + public key layout.
    return raw[:32] if raw is not None and len(raw) in (32, 64) else None


def _public_from_private(secret: str) -> bytes | None:
    seed = _seed(secret)
    if seed is None:
        return None
    # Lazy import: keeps the cold start stdlib-only; only v1a users pay for cryptography.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _ed25519_match(public_keys: list[bytes], signatures: list[bytes], message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature  # lazy: only asymmetric senders pay for the import
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    matched = False
    for raw_key in public_keys:
        key = Ed25519PublicKey.from_public_bytes(raw_key)
        for signature in signatures:
            try:
                key.verify(signature, message)
                matched = True
            except InvalidSignature:
                pass
    return matched


def generate_standard_webhooks_keypair() -> tuple[str, str]:
    """Create an Ed25519 key pair for ``v1a`` signatures.

    Returns
    -------
    tuple of str
        ``(whsk_<base64 seed>, whpk_<base64 public key>)``: sign with the first,
        configure the second as the rule's secret.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "whsk_" + base64.b64encode(seed).decode(), "whpk_" + base64.b64encode(public).decode()


class StandardWebhooksPreset(Preset):
    """Standard Webhooks senders under ``webhook-*`` or ``svix-*`` header names."""

    name = "standard-webhooks"
    default_tolerance = 300  # the reference libraries reject more than 5 minutes either way

    def _verify(
        self, request: WebhookRequest, secrets: list[str], options: Mapping[str, Any], tolerance: int | None, now: float
    ) -> None:
        # Take id and timestamp from the same family as the signature, never mixed.
        family = next((f for f in _FAMILIES if request.header(f"{f}-signature")), "webhook")
        value = require_header(request.headers, f"{family}-signature", f"{family}-signature")
        message_id = require_header(request.headers, f"{family}-id", f"{family}-id")
        timestamp = require_timestamp(request.headers, f"{family}-timestamp", f"{family}-timestamp")
        entries = parse_signature_header(value)
        # Unknown versions are ignored, as the spec asks, so new schemes can be added by senders.
        v1 = [raw for version, text in entries if version == "v1" and (raw := decode_signature(text, "base64"))]
        v1a = [raw for version, text in entries if version == "v1a" and (raw := decode_signature(text, "base64"))]
        if not v1 and not v1a:
            raise SignatureError("malformed_signature", f"The {family}-signature header holds no v1 or v1a signature")
        signed_at = parse_unix(timestamp, f"{family}-timestamp")
        hmac_keys, public_keys = _split_secrets(secrets)
        if not hmac_keys and not public_keys:
            raise SignatureError("no_secret", "None of the configured secrets is a usable whsec_/whpk_ key")
        message = f"{message_id}.{timestamp}.".encode() + request.body
        matched = any_match([hmac_digest(key, message) for key in hmac_keys], v1) if v1 else False
        if public_keys and v1a:
            matched |= _ed25519_match(public_keys, v1a, message)
        if not matched:
            raise SignatureError("bad_signature", f"The {family}-signature does not match any configured secret")
        check_window(signed_at, now, tolerance)

    def _sign(
        self,
        body: bytes,
        secret: str,
        timestamp: int,
        url: str | None,
        event_id: str | None,
        options: Mapping[str, Any],
    ) -> dict[str, str]:
        message_id = event_id or f"msg_{uuid.uuid4().hex}"
        message = f"{message_id}.{timestamp}.".encode() + body
        if secret.startswith("whsk_"):
            seed = _seed(secret)
            if seed is None:
                raise ValueError("a whsk_ secret must hold a base64 32- or 64-byte Ed25519 key")
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

            signature = "v1a," + base64.b64encode(Ed25519PrivateKey.from_private_bytes(seed).sign(message)).decode()
        else:
            key = _b64(secret[6:] if secret.startswith("whsec_") else secret)
            if not key:
                raise ValueError("a Standard Webhooks secret must be whsec_<base64>")
            signature = "v1," + base64.b64encode(hmac_digest(key, message)).decode()
        return {"webhook-id": message_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}

    def event_id(self, headers: Mapping[str, str], body: Any) -> str | None:
        """The ``webhook-id`` (or ``svix-id``) header, the same on every retry."""
        return header_text(headers, "webhook-id", "svix-id")

    def event_type(self, headers: Mapping[str, str], body: Any) -> str | None:
        """``$.type`` (``user.created``)."""
        return as_text(dig(body, "type"))
