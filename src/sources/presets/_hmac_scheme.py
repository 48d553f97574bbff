"""Template for the many presets that are "HMAC over some bytes, in some header"."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from sources.exceptions import SignatureError
from sources.presets._common import (
    any_match,
    check_window,
    decode_all,
    encode_signature,
    hmac_digest,
    parse_unix,
    require_header,
    require_timestamp,
)
from sources.presets.base import Preset
from sources.request import WebhookRequest


@dataclass(frozen=True)
class HmacSpec:
    """Where and how one HMAC scheme carries its signature."""

    header: str  # lower-cased header name
    label: str  # the header as the provider spells it, for messages and sign()
    digest: str = "sha256"
    encoding: str = "hex"
    prefix: str = ""
    timestamped: bool = False
    timestamp_header: str | None = None  # None with timestamped=True: the timestamp sits in the signature header
    timestamp_label: str | None = None


def split_pairs(value: str, separator: str) -> list[tuple[str, str]]:
    """Split ``k=v<sep>k=v`` into pairs, skipping items without ``=``."""
    pairs = []
    for item in value.split(separator):
        key, eq, val = item.strip().partition("=")
        if eq:
            pairs.append((key.strip(), val.strip()))
    return pairs


class HmacPreset(Preset):
    """A preset whose signature is an HMAC the receiver can recompute.

    Subclasses give ``spec`` (or override ``_spec``) and ``_messages``; the
    parsing, rotation handling, constant-time comparison and timestamp window
    live here once.
    """

    spec: ClassVar[HmacSpec]

    # -- hooks ----------------------------------------------------------------------------------

    def _spec(self, options: Mapping[str, Any], request: WebhookRequest | None = None) -> HmacSpec:
        """The scheme for these options; ``request`` is None when signing."""
        return self.spec

    def _messages(self, request: WebhookRequest, timestamp: str | None, options: Mapping[str, Any]) -> list[bytes]:
        """Every byte string the provider may have signed (several when it signs one of a few forms)."""
        raise NotImplementedError

    def _split(self, value: str, spec: HmacSpec) -> tuple[list[str], str | None]:
        """Return the encoded candidate signatures and any timestamp embedded in the header."""
        if not value.startswith(spec.prefix):
            raise SignatureError("malformed_signature", f"The {spec.label} header does not start with {spec.prefix!r}")
        return [value[len(spec.prefix) :]], None

    def _seconds(self, timestamp: str, spec: HmacSpec) -> float:
        return parse_unix(timestamp, spec.timestamp_label or spec.label)

    def _format_time(self, timestamp: int) -> str:
        return str(timestamp)

    def _key(self, secret: str) -> bytes | None:
        return secret.encode("utf-8")

    def _id_headers(self, event_id: str | None) -> dict[str, str]:
        return {}

    def _signature_headers(self, signature: str, timestamp: str | None, spec: HmacSpec) -> dict[str, str]:
        headers = {spec.label: spec.prefix + signature}
        if timestamp is not None and spec.timestamp_label:
            headers[spec.timestamp_label] = timestamp
        return headers

    # -- template -------------------------------------------------------------------------------

    def _verify(
        self, request: WebhookRequest, secrets: list[str], options: Mapping[str, Any], tolerance: int | None, now: float
    ) -> None:
        spec = self._spec(options, request)
        value = require_header(request.headers, spec.header, spec.label)
        texts, timestamp = self._split(value, spec)
        candidates = decode_all(texts, spec.encoding, spec.label)
        if spec.timestamp_header:
            timestamp = require_timestamp(request.headers, spec.timestamp_header, spec.timestamp_label or spec.label)
        if spec.timestamped and timestamp is None:
            raise SignatureError("missing_timestamp", f"The {spec.label} header carries no timestamp")
        signed_at = self._seconds(timestamp, spec) if spec.timestamped and timestamp is not None else None
        keys = [key for key in (self._key(s) for s in secrets) if key]
        if not keys:
            raise SignatureError("no_secret", "None of the configured secrets is usable for this preset")
        messages = self._messages(request, timestamp, options)
        expected = [hmac_digest(key, message, spec.digest) for key in keys for message in messages]
        if not any_match(expected, candidates):
            raise SignatureError("bad_signature", f"The {spec.label} signature does not match any configured secret")
        # Checked after the signature so "stale" only ever describes an authentic, replayed or skewed request.
        if signed_at is not None:
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
        spec = self._spec(options)
        stamp = self._format_time(timestamp) if spec.timestamped else None
        headers = self._id_headers(event_id)
        if stamp is not None and spec.timestamp_label:
            headers[spec.timestamp_label] = stamp
        target = url or options.get("url") or ""
        request = WebhookRequest(method="POST", url=target, headers=headers, body=body)
        key = self._key(secret)
        if not key:
            raise ValueError(f"the secret is not usable with preset {self.name!r}")
        message = self._messages(request, stamp, {**options, "url": target} if target else options)[0]
        signature = encode_signature(hmac_digest(key, message, spec.digest), spec.encoding)
        return {**headers, **self._signature_headers(signature, stamp, spec)}
