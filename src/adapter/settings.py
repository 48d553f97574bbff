"""Settings from environment variables (`BRAZE_ADAPTER_<FIELD>`), one frozen dataclass per function.

These are plain dataclasses rather than pydantic-settings models on purpose: ingress needs no
pydantic otherwise, and importing it costs ~50 ms of every cold start (bench/coldstart.py).
Values are read once in the handlers and passed down as arguments; nothing below the handlers
reads the environment.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = ["CommonSettings", "DispatchSettings", "IngressSettings", "SettingsError", "load_settings"]

PREFIX = "BRAZE_ADAPTER_"
S = TypeVar("S")


class SettingsError(ValueError):
    """One or more environment variables have unusable values (all are listed)."""


def _positive(description: str, default: Any) -> Any:
    return field(default=default, metadata={"description": description, "positive": True})


def _setting(description: str, default: Any) -> Any:
    return field(default=default, metadata={"description": description})


@dataclass(frozen=True)
class CommonSettings:
    ledger_table: str = _setting("DynamoDB table of the send ledger", "braze-adapter-ledger")
    rules_bucket: str = _setting("S3 bucket holding rules/ and archive/", "braze-adapter-rules")
    rules_prefix: str = _setting("key prefix of rule files", "rules/")
    archive_prefix: str = _setting("key prefix of archived requests", "archive/")
    queue_url: str | None = _setting("SQS queue ingress feeds and dispatch reads", None)
    secrets_max_age: int = _setting("seconds a resolved secret is cached", 300)
    rules_max_age: float = _setting("seconds before the rule store re-checks S3 (ETag)", 5.0)


@dataclass(frozen=True)
class IngressSettings(CommonSettings):
    max_body_bytes: int = _positive("larger webhook bodies get 413", 1_000_000)
    dedup_ttl_days: int = _positive("how long a delivered event id is remembered", 7)
    public_base_url: str | None = _setting("public URL of the API (custom domain), for presets that sign the URL", None)


@dataclass(frozen=True)
class DispatchSettings(CommonSettings):
    dead_letter_queue_url: str | None = _setting("the queue's dead-letter queue", None)
    braze_endpoint: str | None = _setting("default Braze REST endpoint", None)
    braze_api_key: str | None = _setting("secret reference of the default REST API key", None)
    connect_timeout: float = _positive("seconds to connect to Braze", 3.05)
    read_timeout: float = _positive("seconds to wait for Braze's answer", 10.0)
    ledger_ttl_days: int = _positive("how long a sent key is remembered", 7)
    claim_lease_seconds: int = _positive("how long a claim is ours before another worker may take it", 60)
    retry_base_delay: int = _positive("first retry delay in seconds; it doubles with each receive", 5)
    max_retry_delay: int = _positive("longest SQS visibility delay for a retry", 900)
    max_receive_count: int = _positive("the queue's maxReceiveCount: dead-letter with a reason before it", 8)


def load_settings(cls: type[S], environ: Mapping[str, str] | None = None) -> S:
    """Build `cls` from `BRAZE_ADAPTER_*` variables; unset ones keep their defaults.

    Raises
    ------
    SettingsError
        Listing every variable whose value has the wrong type or range.
    """
    environ = os.environ if environ is None else environ
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    problems: list[str] = []
    for spec in dataclasses.fields(cls):  # type: ignore[arg-type]
        name = PREFIX + spec.name.upper()
        if name not in environ:
            continue
        try:
            value = _convert(environ[name], hints[spec.name])
        except ValueError:
            problems.append(f"{name}={environ[name]!r}: expected {_describe(hints[spec.name])}")
            continue
        if spec.metadata.get("positive") and value is not None and value <= 0:
            problems.append(f"{name}={environ[name]!r}: must be greater than 0")
            continue
        values[spec.name] = value
    if problems:
        raise SettingsError("; ".join(problems))
    return cls(**values)


def _convert(raw: str, kind: Any) -> Any:
    options = typing.get_args(kind) if isinstance(kind, types.UnionType) else (kind,)
    if type(None) in options and raw == "":
        return None
    kind = next(option for option in options if option is not type(None))
    if kind is bool:
        if raw.lower() not in ("true", "false", "1", "0"):
            raise ValueError(raw)
        return raw.lower() in ("true", "1")
    return kind(raw)


def _describe(kind: Any) -> str:
    options = typing.get_args(kind) if isinstance(kind, types.UnionType) else (kind,)
    return " or ".join("empty" if option is type(None) else option.__name__ for option in options)
