"""``none``: no verification at all, for sources that cannot sign (must be chosen explicitly)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sources.presets.base import Preset
from sources.request import WebhookRequest


class NonePreset(Preset):
    """Accept every request. Only for unsigned sources behind another control (secret URL, VPC)."""

    name = "none"
    needs_secret = False

    def _verify(
        self, request: WebhookRequest, secrets: list[str], options: Mapping[str, Any], tolerance: int | None, now: float
    ) -> None:
        return None

    def _sign(
        self,
        body: bytes,
        secret: str,
        timestamp: int,
        url: str | None,
        event_id: str | None,
        options: Mapping[str, Any],
    ) -> dict[str, str]:
        return {}
