"""Calendly: ``Calendly-Webhook-Signature: t=<unix>,v1=<hex>`` (Stripe's layout)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sources.presets._common import as_text, dig
from sources.presets._hmac_scheme import HmacSpec
from sources.presets._tv1 import TimestampV1Preset


class CalendlyPreset(TimestampV1Preset):
    """Calendly webhook subscriptions (HMAC-SHA256 with the webhook signing key)."""

    name = "calendly"
    default_tolerance = 180  # Calendly's own sample code allows 3 minutes
    spec = HmacSpec(header="calendly-webhook-signature", label="Calendly-Webhook-Signature", timestamped=True)

    def event_type(self, headers: Mapping[str, str], body: Any) -> str | None:
        """``$.event``, e.g. ``invitee.created``. Calendly sends no delivery id, so ``event_id`` is None."""
        return as_text(dig(body, "event"))
