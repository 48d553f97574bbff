"""Logger, metrics and (optional) tracer shared by the Lambda handlers.

Logs never carry bodies, recipients or secrets; as a last guard every log line has e-mail
addresses masked, and structured fields named like credentials or signatures are redacted (the
signature, authorization and cookie headers of an event logged with
`POWERTOOLS_LOGGER_LOG_EVENT=true`, say). Tracer is created only when `BRAZE_ADAPTER_TRACING=true`,
because importing it costs ~185 ms of cold start.
"""

from __future__ import annotations

import logging
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from sources.redaction import REDACTED, mask_email, redact_headers

__all__ = ["NAMESPACE", "SERVICE", "Metric", "count", "count_by", "gauge", "logger", "route_library_logs", "tracer"]

SERVICE = "braze-webhook-adapter"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "BrazeWebhookAdapter")


class Metric:
    """Metric names (CloudWatch, namespace `BrazeWebhookAdapter`)."""

    RECEIVED = "WebhooksReceived"
    VERIFIED = "WebhooksVerified"
    SIGNATURE_FAILURES = "SignatureFailures"
    DUPLICATE_DELIVERIES = "DuplicateDeliveries"
    ENQUEUED = "EventsEnqueued"
    UNKNOWN_SOURCE = "UnknownSourceRequests"
    RULES_REJECTED = "RuleFilesRejected"
    MAPPED = "EventsMapped"
    MAPPING_ERRORS = "MappingErrors"
    SENT = "SendsSent"
    DUPLICATE_SENDS = "SendsDuplicate"
    RATE_LIMITED = "SendsRateLimited"
    UNKNOWN = "SendsUnknown"  # sends that became unknown (counted once each)
    HELD = "SendsHeld"  # gauge: unknown sends waiting for an operator right now
    FAILED = "SendsFailed"
    RETRIED = "EventsRetried"
    DEAD_LETTERED = "EventsDeadLettered"


@lru_cache(maxsize=2048)
def _sensitive(name: str) -> bool:
    """Whether `redact_headers` would hide a field of this name (signature, authorization, cookie...)."""
    return redact_headers({name: ""}).get(name.lower()) == REDACTED


# A signature in a header named by the rule file (`verify.header: X-Acme-Sig`) is not caught by its
# name; in a logged event's header map a value holding a digest-like run (32+ hex or 27+ base64
# characters) is hidden too. Trace ids of that length go with it: these are debug logs.
_HEADER_MAPS = frozenset({"headers", "multivalueheaders"})
_DIGEST = re.compile(r"(?<![A-Za-z0-9+/])(?:[0-9a-fA-F]{32,}|[A-Za-z0-9+/]{27,}={0,2})(?![A-Za-z0-9+/])")


def _redact(value: Any, depth: int = 0, in_headers: bool = False) -> Any:
    if depth > 16:
        return value
    if isinstance(value, Mapping):
        return {key: _redact_field(key, item, depth, in_headers) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(item, depth + 1, in_headers) for item in value]
    if in_headers and isinstance(value, str) and _DIGEST.search(value):
        return REDACTED
    return value


def _redact_field(key: Any, item: Any, depth: int, in_headers: bool) -> Any:
    if isinstance(key, str) and _sensitive(key) and item is not None:
        return REDACTED
    headers = in_headers or (isinstance(key, str) and key.lower() in _HEADER_MAPS and isinstance(item, Mapping))
    return _redact(item, depth + 1, headers)


class _MaskingFormatter(LambdaPowertoolsFormatter):
    def serialize(self, log: dict[str, Any]) -> str:
        return mask_email(super().serialize(_redact(log)))


logger = Logger(service=SERVICE, logger_formatter=_MaskingFormatter())
LIBRARY_PACKAGES = ("adapter", "braze", "mapping", "sources")


def route_library_logs() -> None:
    """Send our packages' standard-library loggers through the masked JSON handler.

    braze/, mapping/ and sources/ log with `logging.getLogger(__name__)` so they do not depend on
    Powertools; in Lambda those records would reach the runtime's root handler as plain text,
    without the e-mail masking and redaction above. Configuring the package loggers (not each
    module's) works whatever order modules are imported in.
    """
    handler = logger.registered_handler
    for name in LIBRARY_PACKAGES:
        package = logging.getLogger(name)
        if handler not in package.handlers:
            package.addHandler(handler)
        package.setLevel(logger.log_level)
        package.propagate = False  # the root handler would print each record a second time


if os.environ.get("BRAZE_ADAPTER_TRACING", "").lower() == "true":
    from aws_lambda_powertools import Tracer

    tracer: Any = Tracer(service=SERVICE)
else:
    tracer = None


def count(name: str, value: float = 1, **dimensions: str) -> None:
    """Emit one metric now (an EMF log line), with its own dimensions (source, rule, ...)."""
    if value <= 0 or is_metrics_disabled():
        return
    with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=NAMESPACE) as metric:
        for key, dimension in dimensions.items():
            metric.add_dimension(name=key, value=dimension)


def gauge(name: str, value: float) -> None:
    """Emit a level (not an increment), zero included, with no dimension but Powertools' `service`."""
    if is_metrics_disabled():
        return
    with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=NAMESPACE):
        pass


def count_by(name: str, keys: Iterable[tuple[str, str]]) -> None:
    """Count occurrences of (source, rule) pairs, one metric line per pair."""
    for (source, rule), value in Counter(keys).items():
        count(name, value, source=source, rule=rule)
