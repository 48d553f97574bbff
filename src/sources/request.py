"""The transport-neutral view of one incoming webhook request."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["WebhookRequest", "lower_headers"]


def lower_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]] | None) -> dict[str, str]:
    """Return ``headers`` with lower-cased names.

    Parameters
    ----------
    headers : mapping or iterable of (name, value) pairs, optional
        Header names in any case.

    Returns
    -------
    dict of str to str
        Lower-cased names. Names that differ only in case are joined with
        ``", "`` in input order, as an HTTP proxy would fold repeated fields.
    """
    if headers is None:
        return {}
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, str] = {}
    for name, value in items:
        key = str(name).lower()
        text = "" if value is None else str(value)
        out[key] = f"{out[key]}, {text}" if key in out else text
    return out


@dataclass(frozen=True)
class WebhookRequest:
    """One webhook delivery as the verifier sees it.

    Parameters
    ----------
    method : str
        HTTP method, e.g. ``"POST"``.
    url : str
        Full public URL the provider called, including the query string.
        URL-signing providers (Twilio, Square, HubSpot) sign this exact text.
    headers : mapping of str to str
        Header names are lower-cased on construction, whatever case is passed.
    body : bytes
        The raw body exactly as received; signatures are checked on these bytes.
    """

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def __post_init__(self) -> None:
        # Normalise here rather than trust callers: API Gateway REST (v1) keeps the
        # sender's casing while HTTP APIs (v2) lower-case, and both reach us.
        object.__setattr__(self, "headers", MappingProxyType(lower_headers(self.headers)))
        object.__setattr__(self, "method", self.method.upper())  # HubSpot signs the method verbatim
        if isinstance(self.body, str):
            raise TypeError("WebhookRequest.body must be bytes; encode text bodies before building the request")
        object.__setattr__(self, "body", bytes(self.body))

    def header(self, name: str) -> str | None:
        """Return a header value by case-insensitive name, or None when absent."""
        return self.headers.get(name.lower())

    @property
    def content_type(self) -> str | None:
        """The ``Content-Type`` header, or None."""
        return self.header("content-type")

    @classmethod
    def from_dict(
        cls,
        headers: Mapping[str, str] | None = None,
        body: bytes | str = b"",
        *,
        method: str = "POST",
        url: str = "",
    ) -> WebhookRequest:
        """Build a request from headers in any case and a bytes or text body.

        Parameters
        ----------
        headers : mapping of str to str, optional
            Header names in any case.
        body : bytes or str
            Raw body; text is encoded as UTF-8 without any other change.
        method : str
            HTTP method (default ``"POST"``).
        url : str
            Full public URL including the query string.

        Returns
        -------
        WebhookRequest

        Examples
        --------
        >>> req = WebhookRequest.from_dict({"Stripe-Signature": "t=1,v1=ab"}, b"{}")
        >>> req.header("STRIPE-SIGNATURE")
        't=1,v1=ab'
        """
        raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        return cls(method=method, url=url, headers=lower_headers(headers), body=raw)
