"""Keep secrets and signatures out of archives, queue messages and logs."""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["REDACTED", "mask_email", "redact_headers"]

REDACTED = "[redacted]"
# Header names that carry credentials, signatures or session state, whatever the provider.
_SENSITIVE = re.compile(r"signature|authorization|cookie|token|secret|api[-_]?key|hmac|password", re.IGNORECASE)
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers with names lower-cased and sensitive values replaced by `[redacted]`."""
    return {name.lower(): (REDACTED if _SENSITIVE.search(name) else value) for name, value in headers.items()}


def mask_email(text: str) -> str:
    """`ada.lovelace@example.com` -> `a***@example.com` anywhere in `text`."""
    return _EMAIL.sub(r"\1***@\2", text)
