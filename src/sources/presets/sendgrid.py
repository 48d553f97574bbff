"""SendGrid Signed Event Webhook: ECDSA P-256/SHA-256 over ``timestamp + body``.

The only asymmetric scheme here: the rule's secret is the *public* key (base64
DER, as shown in SendGrid's settings); signing needs the PEM private key.
``cryptography`` is imported only inside these functions so ``sources`` stays
stdlib-only at import time.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from sources.exceptions import SignatureError
from sources.presets._common import check_window, decode_signature, parse_unix, require_header, require_timestamp
from sources.presets.base import Preset
from sources.request import WebhookRequest

_SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
_TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"


def _load_public_key(secret: str) -> Any | None:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

    try:
        if secret.lstrip().startswith("-----BEGIN"):
            key = load_pem_public_key(secret.encode("ascii"))
        else:
            key = load_der_public_key(base64.b64decode("".join(secret.split()), validate=True))
    except (ValueError, TypeError):
        return None
    # Only an EC key can check an ECDSA signature; anything else is a misconfiguration.
    return key if isinstance(key, ec.EllipticCurvePublicKey) else None


def generate_sendgrid_keypair() -> tuple[str, str]:
    """Create a P-256 key pair for local signing.

    Returns
    -------
    tuple of str
        ``(private_pem, public_b64)``: sign with the PEM (PKCS#8, unencrypted),
        configure the base64 DER public key as the rule's secret.
    """
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode("ascii")
    der = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return pem, base64.b64encode(der).decode("ascii")


class SendGridPreset(Preset):
    """SendGrid Event Webhook deliveries (a JSON array of events)."""

    name = "sendgrid"
    default_tolerance = 300  # SendGrid prescribes none; raise tolerance_seconds if retries arrive stale

    def _verify(
        self, request: WebhookRequest, secrets: list[str], options: Mapping[str, Any], tolerance: int | None, now: float
    ) -> None:
        value = require_header(request.headers, _SIGNATURE.lower(), _SIGNATURE)
        timestamp = require_timestamp(request.headers, _TIMESTAMP.lower(), _TIMESTAMP)
        signature = decode_signature(value, "base64")
        if signature is None:
            raise SignatureError("malformed_signature", f"The {_SIGNATURE} header is not base64")
        signed_at = parse_unix(timestamp, _TIMESTAMP)
        keys = [key for key in (_load_public_key(s) for s in secrets) if key is not None]
        if not keys:
            raise SignatureError("no_secret", "None of the configured secrets is a usable EC public key")
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        # Signature checking is done by cryptography (not compare_digest): ECDSA has no
        # expected value to compare, and its verify does not leak the key through timing.
        message = timestamp.encode("utf-8") + request.body
        matched = False
        for key in keys:
            try:
                key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
                matched = True
            except (InvalidSignature, ValueError):
                pass
        if not matched:
            raise SignatureError("bad_signature", f"The {_SIGNATURE} does not match any configured public key")
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
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        try:
            key = load_pem_private_key(secret.encode("ascii"), password=None)
        except (ValueError, TypeError):
            raise ValueError("sendgrid signs with a PEM private key (see generate_sendgrid_keypair)") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("sendgrid signs with an EC P-256 private key")
        stamp = str(timestamp)
        signature = key.sign(stamp.encode("utf-8") + body, ec.ECDSA(hashes.SHA256()))
        return {_SIGNATURE: base64.b64encode(signature).decode("ascii"), _TIMESTAMP: stamp}
