"""Registry of signature verification presets, by the name rules use in ``verify.preset``.

Every preset module is stdlib-only at import time, so importing this registry is
cheap for the ingress Lambda's cold start.
"""

from __future__ import annotations

from sources.exceptions import UnknownPresetError
from sources.presets.base import HandshakeResponse, Preset
from sources.presets.calendly import CalendlyPreset
from sources.presets.generic_hmac import GenericHmacPreset
from sources.presets.github import GitHubPreset
from sources.presets.hubspot import HubSpotPreset
from sources.presets.intercom import IntercomPreset
from sources.presets.lemonsqueezy import LemonSqueezyPreset
from sources.presets.none import NonePreset
from sources.presets.paddle import PaddlePreset
from sources.presets.segment import SegmentPreset
from sources.presets.sendgrid import SendGridPreset, generate_sendgrid_keypair
from sources.presets.shopify import ShopifyPreset
from sources.presets.slack import SlackPreset
from sources.presets.square import SquarePreset
from sources.presets.standard_webhooks import StandardWebhooksPreset, generate_standard_webhooks_keypair
from sources.presets.stripe import StripePreset
from sources.presets.twilio import TwilioPreset
from sources.presets.twitch import TwitchPreset
from sources.presets.typeform import TypeformPreset
from sources.presets.zendesk import ZendeskPreset

__all__ = [
    "PRESET_NAMES",
    "HandshakeResponse",
    "Preset",
    "generate_sendgrid_keypair",
    "generate_standard_webhooks_keypair",
    "get_preset",
]

# Presets are stateless, so one shared instance each is enough.
_PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        CalendlyPreset(),
        GenericHmacPreset(),
        GitHubPreset(),
        HubSpotPreset(),
        IntercomPreset(),
        LemonSqueezyPreset(),
        NonePreset(),
        PaddlePreset(),
        SegmentPreset(),
        SendGridPreset(),
        ShopifyPreset(),
        SlackPreset(),
        SquarePreset(),
        StandardWebhooksPreset(),
        StripePreset(),
        TwilioPreset(),
        TwitchPreset(),
        TypeformPreset(),
        ZendeskPreset(),
    )
}

PRESET_NAMES: tuple[str, ...] = tuple(sorted(_PRESETS))


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
    try:
        return _PRESETS[name]
    except (KeyError, TypeError):
        raise UnknownPresetError(str(name), PRESET_NAMES) from None
