"""Keep secrets and signatures out of archives, queue messages and logs."""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping

__all__ = ["REDACTED", "mask_email", "redact_headers"]

REDACTED = "[redacted]"
# Header names that carry credentials, signatures or session state, whatever the provider.
_SENSITIVE = re.compile(r"signature|authorization|cookie|token|secret|api[-_]?key|hmac|password", re.IGNORECASE)

# mask_email masks exactly what `([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})` would
# with re.sub, but scans from each '@' instead: that regex retries every start position of a long run of
# local-part characters, which is quadratic (a minute for 300 KB), and it runs on every log line.
_LOCAL_CHARS = frozenset(string.ascii_letters + string.digits + "._%+-")
_DOMAIN_RUN = re.compile(r"[A-Za-z0-9.-]*")  # only ever matched at one position: linear
_LETTERS = re.compile(r"[A-Za-z]*")


def redact_headers(headers: Mapping[str, str], also: Iterable[str] = ()) -> dict[str, str]:
    """Headers with names lower-cased and sensitive values replaced by `[redacted]`; `also` names more
    headers to hide (a signature header whose name the rule file chose, see Preset.signature_headers)."""
    extra = {name.lower() for name in also}
    return {
        name.lower(): (REDACTED if _SENSITIVE.search(name) or name.lower() in extra else value)
        for name, value in headers.items()
    }


def mask_email(text: str) -> str:
    """`ada.lovelace@example.com` -> `a***@example.com` anywhere in `text` (linear time)."""
    parts: list[str] = []
    done = 0  # text[:done] is already in `parts`
    at = text.find("@")
    while at != -1:
        # The local part: the run of local characters before '@', not reaching back into a masked address.
        start = at
        while start > done and text[start - 1] in _LOCAL_CHARS:
            start -= 1
        end = _domain_end(text, at + 1) if start < at else None
        if end is not None:
            parts += [text[done:start], text[start], "***@", text[at + 1 : end]]
            done = end
        at = text.find("@", at + 1)
    parts.append(text[done:])
    return "".join(parts)


def _domain_end(text: str, begin: int) -> int | None:
    """Where the domain starting at `begin` ends: after the last `.` followed by 2+ letters (None: no domain)."""
    domain = text[begin : _DOMAIN_RUN.match(text, begin).end()]
    dot = domain.rfind(".")
    while dot > 0:  # at least one character before the dot
        letters = _LETTERS.match(domain, dot + 1).end() - dot - 1
        if letters >= 2:
            return begin + dot + 1 + letters
        dot = domain.rfind(".", 0, dot)
    return None
