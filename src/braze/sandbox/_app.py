"""The Braze behaviour, as a function from an incoming request to an outcome.

No sockets here: `_http.py` reads the request and carries out the `Outcome` (answer, answer
late, or reset the connection). Shared state (records, rate limiter, fault plan, id RNG) is
touched only under `self._lock`; parsing and validation run outside it.

Order of checks for the two trigger endpoints (first failure wins):
  404 routing -> injected fault -> 413/400 body framing -> 401 key -> 403 permission / trailing
  slash -> 429 quota -> 415 Content-Type -> 400 JSON -> 400 validation -> 400 unknown id -> 201
"""

from __future__ import annotations

import hmac
import json
import random
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import _messages as msg
from ._endpoints import CAMPAIGN, Endpoint, route
from ._faults import SERVER_ERROR_STATUSES, FaultPlan, Faults
from ._ratelimit import ClockWindowLimiter, RateState
from ._recipients import identifier_of
from ._records import Recorder, redact_body, redact_headers, utc_now_iso
from ._validation import unknown_fields, validate_trigger_body

_BEARER = re.compile(r"Bearer ([^\s\"']+)", re.IGNORECASE)


@dataclass
class Reply:
    status: int
    payload: Any  # JSON-serialisable
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    reply: Reply | None  # None only when the connection is reset instead
    delay: float = 0.0
    reset: bool = False


@dataclass
class IncomingRequest:
    method: str
    path: str  # without the query string
    headers: dict[str, str]
    body: bytes
    body_error: tuple[int, str] | None = None  # framing problem found while reading the body

    def header(self, name: str) -> str | None:
        # Header names are case-insensitive (and HTTP/2 clients send them lowercase).
        wanted = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == wanted), None)


@dataclass(frozen=True)
class SandboxConfig:
    api_keys: Mapping[str, frozenset[str]]
    campaign_ids: frozenset[str] | None
    canvas_ids: frozenset[str] | None
    paused_canvases: frozenset[str]
    archived_canvases: frozenset[str]
    rate_limit: int
    rate_window_seconds: float
    reject_recipient: Callable[[str], bool]
    seed: int | None
    faults: Faults
    max_records: int


class SandboxApp:
    def __init__(self, config: SandboxConfig, clock: Callable[[], float]) -> None:
        self.config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._limiter = ClockWindowLimiter(config.rate_limit, config.rate_window_seconds, clock)
        self._plan = FaultPlan(config.faults, config.seed)
        self._records = Recorder(config.max_records)
        self._ids = self._id_rng()

    def _id_rng(self) -> random.Random:
        # Separate from the fault RNG so fault patterns depend only on the request count.
        return random.Random(None if self.config.seed is None else f"dispatch-ids:{self.config.seed}")

    # --- the trigger endpoints -------------------------------------------------------------------

    def handle_api(self, req: IncomingRequest) -> Outcome:
        endpoint, trailing_slash = route(req.path) if req.method == "POST" else (None, False)
        with self._lock:
            attempt = {
                "seq": self._records.next_seq(),
                "received_at": utc_now_iso(),
                "method": req.method,
                "path": req.path,
            }
            # Faults model Braze's infrastructure misbehaving, so only real endpoint calls draw one:
            # a stray 404 must not eat a scripted fault.
            attempt["fault"] = self._plan.draw() if endpoint else None
        outcome, record = self._outcome(req, endpoint, trailing_slash, attempt["fault"])
        self._log(attempt, outcome, record)
        return outcome

    def _outcome(
        self, req: IncomingRequest, endpoint: Endpoint | None, trailing_slash: bool, fault: str | None
    ) -> tuple[Outcome, dict[str, Any] | None]:
        if endpoint is None:
            return Outcome(self._error(404, msg.INVALID_URL)), None
        if fault in {str(status) for status in SERVER_ERROR_STATUSES}:
            return Outcome(self._error(int(fault), msg.SERVER_ERRORS[int(fault)])), None
        if fault == "reset_before":
            return Outcome(None, reset=True), None
        if fault == "429":
            return Outcome(self._burst_reply()), None
        reply, record = self._process(req, endpoint, trailing_slash)
        if fault == "slow":
            return Outcome(reply, delay=self._plan.settings.slow_seconds), record
        if fault == "reset_after":
            return Outcome(None, reset=True), record
        return Outcome(reply), record

    def _log(self, attempt: dict[str, Any], outcome: Outcome, record: dict[str, Any] | None) -> None:
        reply = outcome.reply
        attempt.update(
            status=reply.status if reply else None,
            message=reply.payload.get("message") if reply and isinstance(reply.payload, dict) else None,
            accepted=record is not None,
            dispatch_id=record["dispatch_id"] if record else None,
        )
        with self._lock:
            if record is not None:
                record.update(seq=attempt["seq"], received_at=attempt["received_at"], fault=attempt["fault"])
                self._records.add_request(record)
            self._records.add_attempt(attempt)

    def _process(self, req: IncomingRequest, endpoint: Endpoint, trailing_slash: bool) -> tuple[Reply, dict | None]:
        if req.body_error:
            return self._error(*req.body_error), None
        auth_error = self._auth_error(req.header("Authorization"), endpoint)
        if auth_error:
            return auth_error, None
        if trailing_slash:
            return self._error(403, msg.ACCESS_DENIED), None
        with self._lock:
            rate = self._limiter.consume()
        if not rate.allowed:
            return Reply(429, {"message": msg.RATE_LIMITED}, rate.headers()), None
        return self._process_body(req, endpoint, rate)

    def _process_body(self, req: IncomingRequest, endpoint: Endpoint, rate: RateState) -> tuple[Reply, dict | None]:
        if not _is_json_media_type(req.header("Content-Type")):
            return Reply(415, {"message": msg.UNSUPPORTED_MEDIA_TYPE}, rate.headers()), None
        body = _parse_json_object(req.body)
        if body is None:
            return Reply(400, {"message": msg.PARSE_ERROR}, rate.headers()), None
        error = validate_trigger_body(body, endpoint) or self._unknown_id_error(body, endpoint)
        if error:
            return Reply(400, {"message": error}, rate.headers()), None
        return self._accept(req, body, endpoint, rate)

    def _auth_error(self, header: str | None, endpoint: Endpoint) -> Reply | None:
        match = _BEARER.fullmatch((header or "").strip())
        permissions = _permissions_of(match.group(1), self.config.api_keys) if match else None
        if permissions is None:
            return self._error(401, msg.UNAUTHORIZED)
        if endpoint.permission not in permissions:
            return self._error(403, msg.ACCESS_DENIED)
        return None

    def _unknown_id_error(self, body: dict[str, Any], endpoint: Endpoint) -> str | None:
        if endpoint is CAMPAIGN:
            known = self.config.campaign_ids
        else:
            known = self.config.canvas_ids
            # A paused or archived Canvas obviously exists, even if canvas_ids forgot it.
            if known is not None:
                known = known | self.config.paused_canvases | self.config.archived_canvases
        if known is not None and body[endpoint.id_field] not in known:
            return endpoint.invalid_id_message
        return None

    def _accept(self, req: IncomingRequest, body: dict[str, Any], endpoint: Endpoint, rate: RateState):
        notice = self._canvas_notice(body, endpoint)
        # A paused/archived Canvas sends nothing, so there is nothing to fail per recipient.
        errors = [] if notice else self._recipient_errors(body)
        with self._lock:
            dispatch_id = f"{self._ids.getrandbits(128):032x}"
            auto_send_id = f"{self._ids.getrandbits(64):016x}"
        payload: dict[str, Any] = {"notice": notice} if notice else {}
        payload.update(dispatch_id=dispatch_id, message="success")
        if errors:
            payload["errors"] = errors
        if endpoint is CAMPAIGN and body.get("broadcast") is True:
            # Errors page: a tracked broadcast answers with its send_id (auto-generated if none given).
            payload["send_id"] = body.get("send_id") or auto_send_id
        record = {
            "endpoint": endpoint.name,
            "method": req.method,
            "path": req.path,
            "headers": redact_headers(req.headers),
            "body": redact_body(body),
            "unknown_fields": unknown_fields(body, endpoint),
            "status": 201,
            "response": payload,
            "dispatch_id": dispatch_id,
            "errors": errors,
            "notice": notice,
            "sent": notice is None,
        }
        return Reply(201, payload, rate.headers()), record

    def _canvas_notice(self, body: dict[str, Any], endpoint: Endpoint) -> str | None:
        if endpoint is CAMPAIGN:
            return None
        canvas_id = body[endpoint.id_field]
        if canvas_id in self.config.archived_canvases:
            return msg.CANVAS_ARCHIVED_NOTICE
        if canvas_id in self.config.paused_canvases:
            return msg.CANVAS_PAUSED_NOTICE
        return None

    def _recipient_errors(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        errors = []
        for index, recipient in enumerate(body.get("recipients") or ()):
            kind, value = identifier_of(recipient)
            if self.config.reject_recipient(value):
                errors.append(
                    {"type": msg.rejected_recipient(kind, value), "input_array": "recipients", "index": index}
                )
        return errors

    def _burst_reply(self) -> Reply:
        # A scripted/burst 429 looks like a real one, but its window ends a few seconds from now
        # so a client that honours X-RateLimit-Reset can be tested without waiting an hour.
        reset = int(self._clock() + self._plan.settings.burst_reset_seconds + 0.999)
        headers = RateState(False, self.config.rate_limit, 0, reset).headers()
        return Reply(429, {"message": msg.RATE_LIMITED}, headers)

    def _error(self, status: int, message: str) -> Reply:
        # Braze documents the rate-limit headers on every response, so even errors raised before
        # the quota is counted carry the current (uncounted) state.
        with self._lock:
            rate = self._limiter.peek()
        return Reply(status, {"message": message}, rate.headers())

    def record_protocol_error(self, status: int, message: str) -> None:
        """Log an attempt that http.server rejected before it became a request (bad request line, huge headers)."""
        with self._lock:
            attempt = {"seq": self._records.next_seq(), "received_at": utc_now_iso(), "method": None, "path": None}
            attempt.update(fault=None, status=status, message=message, accepted=False, dispatch_id=None)
            self._records.add_attempt(attempt)

    # --- state for the admin API and the Python API ----------------------------------------------

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return self._records.requests()

    def request_count(self) -> int:
        with self._lock:
            return self._records.request_count()

    def attempts(self) -> list[dict[str, Any]]:
        with self._lock:
            return self._records.attempts()

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def faults(self) -> dict[str, Any]:
        with self._lock:
            return self._plan.to_json()

    def set_faults(self, **changes: Any) -> dict[str, Any]:
        with self._lock:
            self._plan.update(**changes)
            return self._plan.to_json()

    def clear_faults(self) -> dict[str, Any]:
        with self._lock:
            self._plan.install(Faults())
            return self._plan.to_json()

    def reset(self) -> None:
        """Back to the state right after construction: records, quota, faults and RNGs."""
        with self._lock:
            self._records.reset()
            self._limiter.reset()
            self._plan.install(self.config.faults)
            self._plan.reseed()
            self._ids = self._id_rng()


def _is_json_media_type(content_type: str | None) -> bool:
    # Parameters (charset=...) are allowed; the body is decoded as UTF-8 whatever they say.
    return (content_type or "").split(";", 1)[0].strip().lower() == "application/json"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse_json_object(raw: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None for anything Braze could not parse as one."""
    try:
        # Strict UTF-8 (no BOM sniffing) and no NaN/Infinity: those are not JSON.
        parsed = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _permissions_of(presented: str, api_keys: dict[str, Any]) -> Any:
    """The presented key's permissions, comparing in constant time (a dict lookup leaks timing)."""
    found = None
    for key, permissions in api_keys.items():
        if hmac.compare_digest(key.encode(), presented.encode()):
            found = permissions
    return found
