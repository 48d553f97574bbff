"""Webhook signature verification presets and body parsing for the ingress Lambda.

Only the standard library is imported here; ``cryptography`` is loaded lazily by
the two asymmetric schemes (SendGrid ECDSA, Standard Webhooks ``v1a`` Ed25519).
"""

from __future__ import annotations

from sources.body import parse_body
from sources.exceptions import BodyError, PresetOptionsError, SignatureError, UnknownPresetError
from sources.presets import PRESET_NAMES, HandshakeResponse, Preset, get_preset
from sources.request import WebhookRequest

__all__ = [
    "PRESET_NAMES",
    "BodyError",
    "HandshakeResponse",
    "Preset",
    "PresetOptionsError",
    "SignatureError",
    "UnknownPresetError",
    "WebhookRequest",
    "get_preset",
    "parse_body",
]
