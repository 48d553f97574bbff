"""The ``Preset`` contract every verification preset implements."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

from sources.exceptions import PresetOptionsError
from sources.presets._common import resolve_tolerance, usable_secrets
from sources.request import WebhookRequest

__all__ = ["NO_OPTIONS", "HandshakeResponse", "Preset"]

NO_OPTIONS: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class HandshakeResponse:
    """A reply ingress must send as is, instead of processing the request.

    Parameters
    ----------
    status : int
        HTTP status code.
    content_type : str
        Value of the ``Content-Type`` response header.
    body : bytes
        Response body.
    """

    status: int
    content_type: str
    body: bytes


class Preset:
    """Base class of a provider's signature scheme and event conventions.

    Subclasses set the class attributes and implement ``_verify`` and ``_sign``;
    ``verify`` and ``sign`` here do the shared argument checks so every preset
    treats options, tolerance, secrets and clocks the same way.
    """

    name: ClassVar[str] = ""
    default_tolerance: ClassVar[int | None] = None  # None: the scheme signs no timestamp
    needs_secret: ClassVar[bool] = True
    allowed_options: ClassVar[frozenset[str]] = frozenset()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    def check_options(self, options: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Validate the rule's preset-specific options.

        Parameters
        ----------
        options : mapping
            The options from the rule's ``verify:`` block (everything except
            ``preset``, ``secrets`` and ``tolerance_seconds``).

        Returns
        -------
        list of (str, str)
            ``(option_name, problem)`` pairs; empty when the options are usable.
        """
        if not isinstance(options, Mapping):
            return [("options", "must be a mapping")]
        problems = [(str(k), "unknown option") for k in options if k not in self.allowed_options]
        problems.extend(self._check_options(options))
        return problems

    def option_warnings(self, options: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Usable options that weaken verification (``validate`` prints them; nothing is refused).

        Returns
        -------
        list of (str, str)
            ``(option_name, warning)`` pairs.
        """
        return []

    def signature_headers(self, options: Mapping[str, Any]) -> tuple[str, ...]:
        """Headers (lower-case) that carry this source's signature under a name of the rule file's
        choosing, which name-based redaction cannot recognise; the provider presets use fixed names."""
        return ()

    def verify(
        self,
        request: WebhookRequest,
        secrets: Sequence[str],
        *,
        options: Mapping[str, Any] = NO_OPTIONS,
        tolerance: int | None = None,
        now: float | None = None,
    ) -> None:
        """Verify a request's signature on its raw body.

        Parameters
        ----------
        request : WebhookRequest
            The request as received.
        secrets : sequence of str
            Every currently valid secret (several during rotation); any match is
            accepted. Empty strings are ignored.
        options : mapping, optional
            Preset-specific options (see ``check_options``).
        tolerance : int, optional
            Allowed clock difference in seconds, both ways; defaults to
            ``default_tolerance``. Ignored by schemes without a timestamp.
        now : float, optional
            Current unix time; injectable for tests.

        Raises
        ------
        SignatureError
            With ``reason`` telling what failed.
        PresetOptionsError
            When ``options`` are invalid (a configuration error, not the sender's).
        ValueError
            When ``tolerance`` is not a positive integer.
        """
        self._require_valid(options)
        window = resolve_tolerance(self.default_tolerance, tolerance)
        keys = usable_secrets(secrets) if self.needs_secret else []
        self._verify(request, keys, options, window, time.time() if now is None else float(now))

    def sign(
        self,
        body: bytes,
        secret: str,
        *,
        timestamp: int | None = None,
        url: str | None = None,
        event_id: str | None = None,
        options: Mapping[str, Any] = NO_OPTIONS,
    ) -> dict[str, str]:
        """Produce the headers the provider would send with ``body``.

        Parameters
        ----------
        body : bytes
            Raw body to sign.
        secret : str
            Signing secret (for SendGrid a PEM private key, for Standard Webhooks
            ``whsec_...`` or an Ed25519 ``whsk_...`` key).
        timestamp : int, optional
            Unix seconds to sign; defaults to now. Ignored without a timestamp scheme.
        url : str, optional
            Public URL, for URL-signing presets (defaults to ``options["url"]``).
        event_id : str, optional
            Delivery id to put in the provider's id header, where it has one.
        options : mapping, optional
            Preset-specific options.

        Returns
        -------
        dict of str to str
            Header names (as the provider spells them) to values.
        """
        self._require_valid(options)
        if self.needs_secret and not secret:
            raise ValueError("a non-empty secret is required to sign")
        stamp = int(time.time()) if timestamp is None else int(timestamp)
        return self._sign(bytes(body), secret, stamp, url, event_id, options)

    def event_id(self, headers: Mapping[str, str], body: Any) -> str | None:
        """Return the provider's de-duplication id, or None (caller hashes the body)."""
        return None

    def event_type(self, headers: Mapping[str, str], body: Any) -> str | None:
        """Return the provider's event type, or None."""
        return None

    def handshake(self, request: WebhookRequest, body: Any) -> HandshakeResponse | None:
        """Return the direct reply to a verification challenge, or None to process normally."""
        return None

    # -- for subclasses -------------------------------------------------------------------------

    def _check_options(self, options: Mapping[str, Any]) -> list[tuple[str, str]]:
        return []

    def _require_valid(self, options: Mapping[str, Any]) -> None:
        problems = self.check_options(options)
        if problems:
            raise PresetOptionsError(self.name, problems)

    def _verify(
        self, request: WebhookRequest, secrets: list[str], options: Mapping[str, Any], tolerance: int | None, now: float
    ) -> None:
        raise NotImplementedError

    def _sign(
        self,
        body: bytes,
        secret: str,
        timestamp: int,
        url: str | None,
        event_id: str | None,
        options: Mapping[str, Any],
    ) -> dict[str, str]:
        raise NotImplementedError
