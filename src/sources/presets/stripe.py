"""Stripe: ``Stripe-Signature: t=<unix>,v1=<hex>``; the ``whsec_`` secret is used verbatim."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sources.presets._common import as_text, dig
from sources.presets._hmac_scheme import HmacSpec
from sources.presets._tv1 import TimestampV1Preset


class StripePreset(TimestampV1Preset):
    """Stripe webhooks; several ``v1=`` entries appear while an old secret is being rolled."""

    name = "stripe"
    default_tolerance = 300  # the official SDKs' default
    spec = HmacSpec(header="stripe-signature", label="Stripe-Signature", timestamped=True)

    def event_id(self, headers: Mapping[str, str], body: Any) -> str | None:
        """``$.id`` (``evt_...``), stable across retries."""
        return as_text(dig(body, "id"))

    def event_type(self, headers: Mapping[str, str], body: Any) -> str | None:
        """``$.type``, e.g. ``invoice.paid``."""
        return as_text(dig(body, "type"))
