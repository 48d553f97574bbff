"""The two Braze endpoints the sandbox serves, described as data so validation stays generic."""

from __future__ import annotations

from dataclasses import dataclass

from . import _messages as msg


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    permission: str
    id_field: str
    invalid_id_message: str
    # Top-level personalisation objects (each capped at 50 KB) and their per-recipient twins.
    property_fields: tuple[str, ...]
    recipient_property_fields: tuple[str, ...]
    # Fields Braze documents for *this* endpoint; anything else is tolerated and recorded as unknown.
    known_fields: frozenset[str]
    # Fields documented only for the *other* endpoint that we reject here (the brief asks for it;
    # Braze's Canvas page simply has no send_id/attachments).
    rejected_fields: tuple[str, ...]


_COMMON = frozenset({"broadcast", "audience", "recipients"})

CAMPAIGN = Endpoint(
    name="campaign",
    path="/campaigns/trigger/send",
    permission="campaigns.trigger.send",
    id_field="campaign_id",
    invalid_id_message=msg.INVALID_CAMPAIGN_ID,
    property_fields=("trigger_properties",),
    recipient_property_fields=("trigger_properties",),
    known_fields=_COMMON | {"campaign_id", "send_id", "trigger_properties", "attachments"},
    rejected_fields=(),
)

CANVAS = Endpoint(
    name="canvas",
    path="/canvas/trigger/send",
    permission="canvas.trigger.send",
    id_field="canvas_id",
    invalid_id_message=msg.INVALID_CANVAS_ID,
    # canvas_entry_properties is the legacy name of context; Braze still accepts both (S21).
    property_fields=("context", "canvas_entry_properties"),
    recipient_property_fields=("context", "canvas_entry_properties"),
    known_fields=_COMMON | {"canvas_id", "context", "canvas_entry_properties"},
    rejected_fields=("send_id", "attachments"),
)

ENDPOINTS = (CAMPAIGN, CANVAS)
ALL_PERMISSIONS = frozenset(endpoint.permission for endpoint in ENDPOINTS)


def route(path: str) -> tuple[Endpoint | None, bool]:
    """Return (endpoint, trailing_slash) for a request path, or (None, False) when it is no endpoint.

    A trailing-slash variant is still routed: Braze documents trailing-slash URLs as a cause of
    403 Access Denied rather than 404, so the caller answers 403 after authentication.
    """
    for endpoint in ENDPOINTS:
        if path == endpoint.path:
            return endpoint, False
        if path == endpoint.path + "/":
            return endpoint, True
    return None, False
