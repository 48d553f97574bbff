"""The Braze REST client: one `requests.Session`, Bearer auth, and an honest outcome per request.

Every request ends in exactly one outcome, because what the sender may do next depends on it:

* `sent`: 2xx. Braze accepted the request; per-recipient `errors` are mapped back to recipients.
* `rate_limited`: 429. Retry after `X-RateLimit-Reset`; never counted as a failed attempt.
* `retryable`: 5xx, or a connection problem before the request was fully written.
* `permanent`: any other 4xx. Braze sent nothing; the reason is kept.
* `ambiguous`: a read timeout or a reset *after* the request was written: Braze may have sent it,
  so it must not be retried blindly.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from sources.redaction import mask_email

__all__ = [
    "BRAZE_REST_HOSTS",
    "BrazeClient",
    "EndpointError",
    "Outcome",
    "SendResult",
    "check_endpoint",
    "new_session",
]

logger = logging.getLogger(__name__)

# The documented REST endpoints (reference: Braze "API basics", instance table).
BRAZE_REST_HOSTS = frozenset(
    [f"rest.iad-0{n}.braze.com" for n in range(1, 9)]
    + ["rest.us-10.braze.com", "rest.fra-01.braze.eu", "rest.fra-02.braze.eu"]
    + [f"rest.{region}-01.braze.com" for region in ("au", "id", "jp", "kr")]
)
_LOCAL_HOSTS = frozenset(["localhost", "127.0.0.1", "::1"])
MIN_READ_TIMEOUT = 1.0  # below this a request is not worth starting
DEFAULT_RATE_LIMIT_WAIT = 60.0


class Outcome(StrEnum):
    SENT = "sent"
    RATE_LIMITED = "rate_limited"
    RETRYABLE = "retryable"
    PERMANENT = "permanent"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True)
class SendResult:
    """What happened to one request."""

    outcome: Outcome
    status: int | None = None
    reason: str = ""
    dispatch_id: str | None = None
    notice: str | None = None
    recipient_errors: dict[int, str] = field(default_factory=dict)  # recipient index -> Braze's message
    unmapped_errors: tuple[str, ...] = ()
    retry_at: float | None = None  # epoch seconds, for rate_limited
    rate_limit_remaining: int | None = None


class EndpointError(ValueError):
    """A Braze endpoint that is not https (or a local sandbox) is refused."""


def check_endpoint(endpoint: str) -> str:
    """Validate a Braze REST endpoint; returns it without a trailing slash.

    Documented hosts pass silently; other https hosts pass with a warning (a proxy, a new
    instance); plain http is allowed only on localhost (the sandbox).

    Raises
    ------
    EndpointError
        For any other scheme or host.
    """
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        if host not in BRAZE_REST_HOSTS:
            logger.warning("Braze endpoint %s is not a documented Braze REST host", host)
        return endpoint.rstrip("/")
    if parts.scheme == "http" and host in _LOCAL_HOSTS:
        return endpoint.rstrip("/")
    raise EndpointError(f"Braze endpoint must be https (or http on localhost for the sandbox): {endpoint!r}")


# --- knowing whether the request left ---------------------------------------------------------
# requests reports a reset before and after the request was written with the same exception, but
# only the second may have made Braze send. The connection records when it finished writing.

_written = threading.local()


class _TrackedHTTPConnection(HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _written.done = False
        super().request(*args, **kwargs)
        _written.done = True


class _TrackedHTTPSConnection(HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _written.done = False
        super().request(*args, **kwargs)
        _written.done = True


class _TrackedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _TrackedHTTPConnection


class _TrackedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _TrackedHTTPSConnection


class _TrackingAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _TrackedHTTPPool, "https": _TrackedHTTPSPool}


def new_session(user_agent: str, pool_size: int = 10) -> requests.Session:
    """A Session whose connections record whether a request was fully written; no hidden retries."""
    session = requests.Session()
    adapter = _TrackingAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"User-Agent": user_agent, "Accept": "application/json"})
    return session


class BrazeClient:
    """Sends trigger requests to one Braze endpoint with one API key.

    Parameters
    ----------
    endpoint:
        REST endpoint such as `https://rest.iad-01.braze.com` (checked with `check_endpoint`).
    api_key:
        The REST API key (already resolved from its secret reference). The `api_key` attribute may be
        replaced between requests (a rotated key); the session stays.
    session:
        Shared `requests.Session` from `new_session` (one per process).
    connect_timeout, read_timeout:
        Upper bounds; `send` shortens them to fit the caller's deadline.
    """

    def __init__(
        self,
        endpoint: str,
        api_key: str,
        session: requests.Session,
        *,
        connect_timeout: float = 3.05,
        read_timeout: float = 10.0,
    ) -> None:
        self.endpoint = check_endpoint(endpoint)
        self.api_key = api_key
        self._session = session
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout

    def send(self, path: str, body: dict[str, Any], *, deadline: float | None = None) -> SendResult:
        """POST `body` to `path` and classify the outcome (never raises for HTTP problems).

        `deadline` is a `time.monotonic()` value the request must finish by (the Lambda's
        remaining time minus what completing the ledger needs). Without enough time left the
        request is not started and the result is `retryable`.
        """
        timeout = self._timeouts(deadline)
        if timeout is None:
            return SendResult(Outcome.RETRYABLE, reason="not enough time left to send; will retry")
        data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"}
        _written.done = False
        try:
            response = self._session.post(self.endpoint + path, data=data, headers=headers, timeout=timeout)
        except requests.exceptions.ConnectTimeout:
            return SendResult(Outcome.RETRYABLE, reason="connect timeout")
        except requests.exceptions.ReadTimeout:
            return SendResult(Outcome.AMBIGUOUS, reason=f"no response within {timeout[1]:.1f} s after sending")
        except requests.exceptions.RequestException as exc:
            if getattr(_written, "done", False):
                return SendResult(Outcome.AMBIGUOUS, reason=f"connection lost after sending: {type(exc).__name__}")
            return SendResult(Outcome.RETRYABLE, reason=f"connection failed before sending: {type(exc).__name__}")
        return classify_response(response.status_code, response.headers, response.content)

    def _timeouts(self, deadline: float | None) -> tuple[float, float] | None:
        if deadline is None:
            return self.connect_timeout, self.read_timeout
        left = deadline - time.monotonic()
        connect = min(self.connect_timeout, left / 3)
        read = min(self.read_timeout, left - connect)
        if read < MIN_READ_TIMEOUT:
            return None
        return connect, read


def classify_response(status: int, headers: Any, content: bytes) -> SendResult:
    """Turn an HTTP response from Braze into a `SendResult` (a pure function, tested directly).

    Braze's text can name a recipient by email address; it becomes dead-letter reasons, ledger entries
    and log lines, so addresses in it are masked here.
    """
    payload = _json_object(content)
    message = mask_email(str(payload.get("message", ""))) if payload else ""
    errors = payload.get("errors") if payload else None
    remaining = _int_header(headers, "X-RateLimit-Remaining")
    if 200 <= status < 300:
        mapped, unmapped = _recipient_errors(errors)
        return SendResult(
            Outcome.SENT,
            status,
            reason=message or "accepted",
            dispatch_id=payload.get("dispatch_id") if payload else None,
            notice=payload.get("notice") if payload else None,
            recipient_errors=mapped,
            unmapped_errors=unmapped,
            rate_limit_remaining=remaining,
        )
    reason = _reason(status, message, errors, content)
    if status == 429:
        reset = _int_header(headers, "X-RateLimit-Reset")
        retry_at = float(reset) if reset else time.time() + DEFAULT_RATE_LIMIT_WAIT
        return SendResult(Outcome.RATE_LIMITED, status, reason, retry_at=retry_at, rate_limit_remaining=remaining)
    if status >= 500:
        return SendResult(Outcome.RETRYABLE, status, reason)
    return SendResult(Outcome.PERMANENT, status, reason)


def _json_object(content: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(content or b"null")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _int_header(headers: Any, name: str) -> int | None:
    value = headers.get(name) if headers is not None else None
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


def _recipient_errors(errors: Any) -> tuple[dict[int, str], tuple[str, ...]]:
    """Braze lists minor errors in `errors`; entries with `input_array: recipients` name an index."""
    mapped: dict[int, str] = {}
    unmapped: list[str] = []
    for error in errors if isinstance(errors, list) else []:
        if isinstance(error, dict) and error.get("input_array") == "recipients" and isinstance(error.get("index"), int):
            mapped[error["index"]] = mask_email(str(error.get("type") or error.get("message") or error))
        else:
            unmapped.append(mask_email(error if isinstance(error, str) else json.dumps(error, sort_keys=True)))
    return mapped, tuple(unmapped)


def _reason(status: int, message: str, errors: Any, content: bytes) -> str:
    # Masked before it is cut short, so a cut cannot leave half an address unmasked.
    text = message or mask_email(content.decode("utf-8", "replace"))[:200].strip() or "no body"
    if isinstance(errors, list) and errors:
        text += ": " + "; ".join(str(e) for e in errors[:5])
    return mask_email(f"HTTP {status}: {text}")
