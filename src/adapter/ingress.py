"""Ingress: verify a signed webhook, archive it, queue it once, answer fast.

    load the source's rule file -> verify the signature on the raw bytes -> parse the body ->
    answer handshakes -> derive the event id -> (once per event id) archive + enqueue -> 202

Everything that can be wrong with a request gets a clear JSON error: 401 bad, missing or stale
signature; 404 unknown source; 413 too large; 415 unsupported content type; 400 malformed body
(or a body flagged as base64 that is not);
409 the same event is being accepted right now (retry); 503 our side failed (retry, nothing lost).
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from adapter.observability import Metric, count, logger
from adapter.secrets import SecretError, resolve_secret
from adapter.settings import IngressSettings
from mapping.events import InboundEvent, derive_event_id, derive_event_type, now_iso
from mapping.exceptions import MappingError, RuleFileError
from mapping.source_config import SourceConfig
from mapping.store import RuleStore, StoreError, UnknownSourceError
from sources.body import parse_body
from sources.envelope import bounded_event_id, build_envelope
from sources.exceptions import BodyError, SignatureError
from sources.presets import get_preset
from sources.redaction import redact_headers
from sources.request import WebhookRequest

__all__ = ["IngressResponse", "Receiver", "archive_key"]

_UNSAFE_KEY_CHARS = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class IngressResponse:
    status: int
    body: Any
    content_type: str = "application/json"

    def payload(self) -> str:
        """The body as text (handshake answers arrive as UTF-8 bytes)."""
        return self.body.decode("utf-8") if isinstance(self.body, bytes) else json.dumps(self.body)


def _error(status: int, message: str) -> IngressResponse:
    return IngressResponse(status, {"error": message})


class Receiver:
    """Accepts webhooks for every source that has a rule file.

    Parameters
    ----------
    settings:
        Ingress settings (bucket, queue, limits, public URL).
    store:
        Rule store returning each source's `SourceConfig`.
    s3, sqs:
        boto3 clients for the archive and the queue.
    accept_once:
        `accept_once(delivery={"source", "event_id"}, work=callable) -> (result, duplicate)`:
        runs `work` at most once per delivery key (Powertools Idempotency in production).
    """

    def __init__(
        self,
        settings: IngressSettings,
        store: RuleStore[SourceConfig],
        s3: Any,
        sqs: Any,
        accept_once: Callable[..., tuple[dict[str, Any], bool]],
        *,
        secret: Callable[..., str] = resolve_secret,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.store = store
        self.s3 = s3
        self.sqs = sqs
        self.accept_once = accept_once
        self.secret = secret
        self.clock = clock

    def receive(self, source: str, event: dict[str, Any]) -> IngressResponse:
        """Handle one API Gateway (HTTP API, payload 2.0) request for `POST /hooks/{source}`."""
        try:
            config = self.store.get(source)
        except UnknownSourceError:
            count(Metric.UNKNOWN_SOURCE)
            return _error(404, "unknown source")
        except RuleFileError as exc:
            logger.error("rule file rejected", extra={"source": source, "problems": [str(p) for p in exc.problems]})
            return _error(503, "this source's rule file is invalid; the operator has been told")
        except StoreError as exc:
            logger.error("cannot read rules", extra={"source": source, "error": str(exc)})
            return _error(503, "temporarily unavailable; retry")
        count(Metric.RECEIVED, source=source)

        raw = _raw_body(event)
        if raw is None:
            return _error(400, "the body is flagged isBase64Encoded but is not valid base64")
        if len(raw) > self.settings.max_body_bytes:
            return _error(413, f"body larger than {self.settings.max_body_bytes} bytes")
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        request = WebhookRequest(
            method=event.get("requestContext", {}).get("http", {}).get("method", "POST"),
            url=self._public_url(event, headers),
            headers=headers,
            body=raw,
        )
        failure = self._verify(config, request)
        if failure is not None:
            return failure
        count(Metric.VERIFIED, source=source)

        try:
            body = parse_body(raw, headers.get("content-type"))
        except BodyError as exc:
            return _error(exc.status, str(exc))
        preset = get_preset(config.preset)
        handshake = preset.handshake(request, body)
        if handshake is not None:
            return IngressResponse(handshake.status, handshake.body, handshake.content_type)

        query = _query(event)
        received_at = now_iso()
        inbound = InboundEvent(body=body, raw=raw, headers=headers, query=query, received_at=received_at)
        try:
            # Over-long ids are hashed before the once-per-id check, so retries still match (see bounded_event_id).
            event_id = bounded_event_id(derive_event_id(inbound, source, config.preset, config.event_id))
            event_type = derive_event_type(inbound, source, config.preset, config.event_type)
        except MappingError as exc:
            return _error(400, f"cannot derive the event id: {exc}")
        logger.append_keys(event_id=event_id, source=source)

        def work() -> dict[str, Any]:
            return self._archive_and_enqueue(config, event, inbound, event_id, event_type)

        try:
            _, duplicate = self.accept_once(delivery={"source": source, "event_id": event_id}, work=work)
        except InProgress:
            return _error(409, "this event is being accepted by another request; retry later")
        except Exception as exc:  # AWS trouble: the provider retries, nothing is lost
            logger.exception("could not archive or enqueue", extra={"error": type(exc).__name__})
            return _error(503, "temporarily unavailable; retry")
        if duplicate:
            count(Metric.DUPLICATE_DELIVERIES, source=source)
            return IngressResponse(202, {"event_id": event_id, "duplicate": True})
        count(Metric.ENQUEUED, source=source)
        return IngressResponse(202, {"event_id": event_id})

    def _verify(self, config: SourceConfig, request: WebhookRequest) -> IngressResponse | None:
        preset = get_preset(config.preset)
        try:
            secrets = [self.secret(ref, max_age=self.settings.secrets_max_age) for ref in config.secrets]
            try:
                preset.verify(request, secrets, options=config.options, tolerance=config.tolerance)
            except SignatureError as exc:
                if exc.reason != "bad_signature" or not config.secrets:
                    raise
                # The secret may have been rotated since we cached it: read it once more.
                fresh = [self.secret(ref, max_age=0, force_fetch=True) for ref in config.secrets]
                if fresh == secrets:
                    raise
                preset.verify(request, fresh, options=config.options, tolerance=config.tolerance)
        except SignatureError as exc:
            count(Metric.SIGNATURE_FAILURES, source=config.source)
            logger.warning("signature rejected", extra={"source": config.source, "reason": exc.reason})
            return _error(401, f"signature verification failed: {exc.reason}")
        except SecretError as exc:
            logger.error("cannot resolve a signing secret", extra={"source": config.source, "error": str(exc)})
            return _error(503, "temporarily unavailable; retry")
        return None

    def _archive_and_enqueue(
        self, config: SourceConfig, event: dict[str, Any], inbound: InboundEvent, event_id: str, event_type: str | None
    ) -> dict[str, Any]:
        headers = redact_headers(inbound.headers, also=get_preset(config.preset).signature_headers(config.options))
        day = datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%d")
        key = archive_key(self.settings.archive_prefix, config.source, day, event_id)
        raw = inbound.raw or b""
        record = {
            "source": config.source,
            "event_id": event_id,
            "event_type": event_type,
            "received_at": inbound.received_at,
            "rules_version": config.version,
            "method": event.get("requestContext", {}).get("http", {}).get("method", "POST"),
            "path": event.get("rawPath"),
            "query": dict(inbound.query),
            "headers": headers,
        }
        try:
            record["body"] = raw.decode("utf-8")
        except UnicodeDecodeError:
            record["body_base64"] = base64.b64encode(raw).decode()
        # Archive and enqueue are independent: run them side by side (the answer waits for both,
        # and if either fails the delivery is refused, so the provider retries).
        archived = _io_pool().submit(
            self.s3.put_object,
            Bucket=self.settings.rules_bucket,
            Key=key,
            Body=json.dumps(record, ensure_ascii=False).encode(),
            ContentType="application/json",
        )
        message = build_envelope(
            source=config.source,
            event_id=event_id,
            event_type=event_type,
            received_at=inbound.received_at,
            headers=headers,
            query=inbound.query,
            raw=raw,
            archive_key=key,
        )
        self.sqs.send_message(
            QueueUrl=self.settings.queue_url,
            MessageBody=message,
            MessageAttributes={
                "source": {"DataType": "String", "StringValue": config.source},
                "event_id": {"DataType": "String", "StringValue": event_id},
            },
        )
        archived.result()
        return {"archive_key": key}

    def _public_url(self, event: dict[str, Any], headers: dict[str, str]) -> str:
        path = event.get("rawPath") or ""
        query = event.get("rawQueryString") or ""
        if self.settings.public_base_url:
            base = self.settings.public_base_url.rstrip("/")
        else:
            scheme = headers.get("x-forwarded-proto", "https")
            host = headers.get("host") or event.get("requestContext", {}).get("domainName", "")
            base = f"{scheme}://{host}"
        return f"{base}{path}" + (f"?{query}" if query else "")


_pool: ThreadPoolExecutor | None = None


def _io_pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ingress-io")
    return _pool


class InProgress(Exception):
    """Another request is accepting the same event right now."""


def _raw_body(event: dict[str, Any]) -> bytes | None:
    """The request body as bytes; None when it is flagged as base64 but is not (bad padding, non-ASCII)."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body)
        except ValueError:  # binascii.Error, or non-ASCII characters in a str
            return None
    return body.encode("utf-8")


def _query(event: dict[str, Any]) -> dict[str, Any]:
    # Keep repeated parameters as lists, like form bodies (API Gateway joins them with commas).
    parsed = parse_qs(event.get("rawQueryString") or "", keep_blank_values=True)
    return {name: values[0] if len(values) == 1 else values for name, values in parsed.items()}


def archive_key(prefix: str, source: str, day: str, event_id: str) -> str:
    """Where an accepted webhook is archived (`replay` and `ledger resolve` look it up here)."""
    return f"{prefix}{source}/{day}/{_safe_key(event_id)}.json"


def _safe_key(event_id: str) -> str:
    safe = _UNSAFE_KEY_CHARS.sub("_", event_id)[:200]
    if safe != event_id:  # keep distinct ids distinct after the substitution
        import hashlib

        safe = f"{safe}-{hashlib.sha256(event_id.encode()).hexdigest()[:12]}"
    return safe


def build_receiver(settings: IngressSettings) -> Receiver:
    """A Receiver on real AWS clients (created here, at first use, never at import)."""
    import boto3

    from adapter.accept import AcceptOnce
    from adapter.observability import Metric as _Metric
    from mapping.source_config import parse_source_config

    def rejected(source: str, error: RuleFileError) -> None:
        count(_Metric.RULES_REJECTED, source=source)
        logger.error(
            "new rule file rejected; keeping the last good one", extra={"problems": [str(p) for p in error.problems]}
        )

    s3 = boto3.client("s3")
    store = RuleStore(
        s3,
        settings.rules_bucket,
        parse_source_config,
        prefix=settings.rules_prefix,
        max_age=settings.rules_max_age,
        on_invalid=rejected,
    )
    accept_once = AcceptOnce(settings.ledger_table, settings.dedup_ttl_days * 24 * 3600, boto3.client("dynamodb"))
    return Receiver(settings, store, s3, boto3.client("sqs"), accept_once)
