"""``hmac``: a configurable HMAC scheme for providers without their own preset."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sources.exceptions import SignatureError
from sources.presets._common import DIGESTS, ENCODINGS
from sources.presets._hmac_scheme import HmacPreset, HmacSpec
from sources.request import WebhookRequest

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 header field name
_SIGNED = ("body", "timestamp.body")


def _header_problem(options: Mapping[str, Any], key: str) -> str | None:
    value = options[key]
    if not isinstance(value, str) or not _TOKEN.match(value):
        return "must be an HTTP header name"
    return None


class GenericHmacPreset(HmacPreset):
    """HMAC of the raw body (or ``timestamp + "." + body``) in a configurable header.

    Options
    -------
    header : str
        Signature header (required).
    algorithm : {"sha1", "sha256", "sha512"}
        Default ``sha256``.
    encoding : {"hex", "base64"}
        Default ``hex``.
    prefix : str
        Text before the signature, e.g. ``sha256=``; default none.
    timestamp_header : str
        Header with a unix-seconds timestamp; enables the tolerance window.
    signed : {"body", "timestamp.body"}
        What is signed; ``timestamp.body`` needs ``timestamp_header``. Default ``body``.

    The header may list several signatures separated by commas or spaces
    (rotation); each must carry the prefix.
    """

    name = "hmac"
    default_tolerance = 300  # applies only when timestamp_header is set
    allowed_options = frozenset({"header", "algorithm", "encoding", "prefix", "timestamp_header", "signed"})

    def signature_headers(self, options: Mapping[str, Any]) -> tuple[str, ...]:
        header = options.get("header")
        return (header.lower(),) if isinstance(header, str) else ()

    def _check_options(self, options: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if "header" not in options:
            problems.append(("header", "is required"))
        for key in ("header", "timestamp_header"):
            if key in options and (problem := _header_problem(options, key)):
                problems.append((key, problem))
        algorithm = options.get("algorithm", "sha256")
        if not isinstance(algorithm, str) or algorithm not in DIGESTS:
            problems.append(("algorithm", f"must be one of {', '.join(sorted(DIGESTS))}"))
        if options.get("encoding", "hex") not in ENCODINGS:
            problems.append(("encoding", f"must be one of {', '.join(ENCODINGS)}"))
        if not isinstance(options.get("prefix", ""), str):
            problems.append(("prefix", "must be a string"))
        signed = options.get("signed", "body")
        if signed not in _SIGNED:
            problems.append(("signed", f"must be one of {', '.join(_SIGNED)}"))
        elif signed == "timestamp.body" and "timestamp_header" not in options:
            problems.append(("signed", "timestamp.body needs timestamp_header"))
        return problems

    def option_warnings(self, options: Mapping[str, Any]) -> list[tuple[str, str]]:
        # Some senders do sign only the body; then anyone replaying a captured request can send a fresh timestamp.
        if "timestamp_header" in options and options.get("signed", "body") == "body":
            return [
                (
                    "timestamp_header",
                    "the timestamp is not signed (signed: body), so tolerance_seconds gives no replay protection; "
                    "use signed: timestamp.body if the sender signs it",
                )
            ]
        return []

    def _spec(self, options: Mapping[str, Any], request: WebhookRequest | None = None) -> HmacSpec:
        timestamp_header = options.get("timestamp_header")
        return HmacSpec(
            header=options["header"].lower(),
            label=options["header"],
            digest=options.get("algorithm", "sha256"),
            encoding=options.get("encoding", "hex"),
            prefix=options.get("prefix", ""),
            timestamped=timestamp_header is not None,
            timestamp_header=timestamp_header.lower() if timestamp_header else None,
            timestamp_label=timestamp_header,
        )

    def _split(self, value: str, spec: HmacSpec) -> tuple[list[str], str | None]:
        items = [item for item in re.split(r"[,\s]+", value) if item]
        signatures = [item[len(spec.prefix) :] for item in items if item.startswith(spec.prefix)]
        if not signatures:
            raise SignatureError("malformed_signature", f"The {spec.label} header holds no {spec.prefix!r} signature")
        return signatures, None

    def _messages(self, request: WebhookRequest, timestamp: str | None, options: Mapping[str, Any]) -> list[bytes]:
        if options.get("signed", "body") == "timestamp.body":
            return [f"{timestamp}.".encode("ascii") + request.body]
        return [request.body]
