"""Settings from environment variables (prefix `BRAZE_ADAPTER_`), one model per function.

Values are read once in the handlers and passed down as arguments; nothing below the handlers
reads the environment.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["CommonSettings", "DispatchSettings", "IngressSettings"]


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BRAZE_ADAPTER_", frozen=True, extra="ignore")

    ledger_table: str = Field("braze-adapter-ledger", description="DynamoDB table of the send ledger")
    rules_bucket: str = Field("braze-adapter-rules", description="S3 bucket with rules/ and archive/")
    rules_prefix: str = "rules/"
    archive_prefix: str = "archive/"
    queue_url: str | None = Field(None, description="SQS queue that ingress feeds and dispatch reads")
    secrets_max_age: int = Field(300, ge=0, description="seconds a resolved secret is cached")
    rules_max_age: float = Field(5.0, ge=0, description="seconds before the rule store re-checks S3 (ETag)")


class IngressSettings(CommonSettings):
    max_body_bytes: int = Field(1_000_000, gt=0, description="larger webhook bodies get 413")
    public_base_url: str | None = Field(
        None, description="the public URL of the API (custom domain) for presets that sign the URL"
    )


class DispatchSettings(CommonSettings):
    dead_letter_queue_url: str | None = None
    braze_endpoint: str | None = Field(None, description="default Braze REST endpoint")
    braze_api_key: str | None = Field(None, description="secret reference of the default REST API key")
    connect_timeout: float = Field(3.05, gt=0)
    read_timeout: float = Field(10.0, gt=0)
    ledger_ttl_days: int = Field(7, gt=0)
    claim_lease_seconds: int = Field(60, gt=0)
    max_retry_delay: int = Field(900, gt=0, le=43_200, description="longest SQS visibility delay for a retry")
