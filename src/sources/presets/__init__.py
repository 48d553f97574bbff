"""Registry of signature verification presets, by the name rules use in ``verify.preset``.

Every preset module is stdlib-only at import time, so importing this registry is
cheap for the ingress Lambda's cold start.
"""

from __future__ import annotations

import importlib

from sources.exceptions import UnknownPresetError
from sources.presets.base import HandshakeResponse, Preset

__all__ = [
    "PRESET_NAMES",
    "HandshakeResponse",
    "Preset",
    "generate_sendgrid_keypair",
    "generate_standard_webhooks_keypair",
    "get_preset",
]

# name -> (module, class). Modules load on first use: ingress serves one source per request and
# should not pay for nineteen schemes at cold start.
_REGISTRY: dict[str, tuple[str, str]] = {
    "calendly": ("calendly", "CalendlyPreset"),
    "github": ("github", "GitHubPreset"),
    "hmac": ("generic_hmac", "GenericHmacPreset"),
    "hubspot": ("hubspot", "HubSpotPreset"),
    "intercom": ("intercom", "IntercomPreset"),
    "lemonsqueezy": ("lemonsqueezy", "LemonSqueezyPreset"),
    "none": ("none", "NonePreset"),
    "paddle": ("paddle", "PaddlePreset"),
    "segment": ("segment", "SegmentPreset"),
    "sendgrid": ("sendgrid", "SendGridPreset"),
    "shopify": ("shopify", "ShopifyPreset"),
    "slack": ("slack", "SlackPreset"),
    "square": ("square", "SquarePreset"),
    "standard-webhooks": ("standard_webhooks", "StandardWebhooksPreset"),
    "stripe": ("stripe", "StripePreset"),
    "twilio": ("twilio", "TwilioPreset"),
    "twitch": ("twitch", "TwitchPreset"),
    "typeform": ("typeform", "TypeformPreset"),
    "zendesk": ("zendesk", "ZendeskPreset"),
}
_LOADED: dict[str, Preset] = {}  # presets are stateless: one shared instance each

PRESET_NAMES: tuple[str, ...] = tuple(sorted(_REGISTRY))


def generate_sendgrid_keypair() -> tuple[str, str]:
    """``(private_pem, public_b64)`` for signing SendGrid-style events locally."""
    from sources.presets.sendgrid import generate_sendgrid_keypair as generate

    return generate()


def generate_standard_webhooks_keypair() -> tuple[str, str]:
    """``(whsk_..., whpk_...)`` for Standard Webhooks ``v1a`` (Ed25519) signatures."""
    from sources.presets.standard_webhooks import generate_standard_webhooks_keypair as generate

    return generate()


def get_preset(name: str) -> Preset:
    """Return the preset registered under ``name``.

    Parameters
    ----------
    name : str
        A preset name from ``PRESET_NAMES``, e.g. ``"stripe"``.

    Returns
    -------
    Preset

    Raises
    ------
    UnknownPresetError
        When no preset has that name (a ``KeyError``).

    Examples
    --------
    >>> get_preset("stripe").default_tolerance
    300
    """
    preset = _LOADED.get(name) if isinstance(name, str) else None
    if preset is not None:
        return preset
    try:
        module, cls = _REGISTRY[name]
    except (KeyError, TypeError):
        raise UnknownPresetError(str(name), PRESET_NAMES) from None
    preset = getattr(importlib.import_module(f"sources.presets.{module}"), cls)()
    _LOADED[name] = preset
    return preset
