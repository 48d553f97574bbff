"""What the sandbox saw: every attempt, and the requests it accepted (answered 201).

Not thread-safe on its own: the sandbox calls it under its state lock. Both logs are bounded
(`max_records`) so a long-running `braze-adapter` session cannot grow without limit; sequence
numbers keep counting, so a gap in `seq` shows that old entries were dropped.
"""

from __future__ import annotations

import copy
from collections import deque
from datetime import UTC, datetime
from typing import Any

REDACTED = "[REDACTED]"


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    """Copy of request headers that is safe to show or log: the API key never leaves the sandbox."""
    redacted = {}
    for name, value in headers.items():
        if name.lower() == "authorization":
            scheme = value.split(" ", 1)[0] if " " in value else ""
            value = f"{scheme} {REDACTED}".strip()
        redacted[name] = value
    return redacted


def redact_body(body: dict[str, Any]) -> dict[str, Any]:
    # The pre-2020 way of authenticating put "api_key" in the body (S17); never keep it either.
    if "api_key" not in body:
        return body
    return {**body, "api_key": REDACTED}


class Recorder:
    def __init__(self, max_records: int) -> None:
        self._max = max_records
        self._seq = 0
        self._attempts: deque[dict[str, Any]] = deque(maxlen=max_records)
        self._requests: deque[dict[str, Any]] = deque(maxlen=max_records)

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def add_attempt(self, attempt: dict[str, Any]) -> None:
        self._attempts.append(attempt)

    def add_request(self, request: dict[str, Any]) -> None:
        self._requests.append(request)

    def attempts(self) -> list[dict[str, Any]]:
        # Deep copies: callers may mutate what they get without corrupting the log.
        return copy.deepcopy(list(self._attempts))

    def requests(self) -> list[dict[str, Any]]:
        return copy.deepcopy(list(self._requests))

    def request_count(self) -> int:
        return len(self._requests)

    def clear(self) -> None:
        self._attempts.clear()
        self._requests.clear()

    def reset(self) -> None:
        self.clear()
        self._seq = 0
