"""Validation of a parsed trigger-send body, one function per concern.

`validate_trigger_body` runs the checks in a fixed order and returns the first fatal message,
so a request that breaks several rules always gets the same answer. The order goes from the
cheapest, most basic rule (is there an id?) to the most specific one (audience grammar).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import _messages as msg
from ._endpoints import Endpoint
from ._recipients import present, property_object_error, recipient_error

MAX_RECIPIENTS = 50
MAX_SEND_ID_CHARS = 64
AUDIENCE_FILTERS = frozenset(
    {"custom_attribute", "push_subscription_status", "email_subscription_status", "last_used_app"}
)
# Deeper AND/OR nesting than this is surely a bug in the caller, and the cap keeps recursion bounded.
MAX_AUDIENCE_DEPTH = 32

Check = Callable[[dict[str, Any], Endpoint], "str | None"]


def _check_id(body: dict[str, Any], endpoint: Endpoint) -> str | None:
    # Missing, empty and non-string ids all get the endpoint's "Invalid ... ID" message: it is the
    # only documented string about the id, and "no campaign found for the id" covers "no id".
    value = body.get(endpoint.id_field)
    if not isinstance(value, str) or not value.strip():
        return endpoint.invalid_id_message
    return None


def _check_rejected_fields(body: dict[str, Any], endpoint: Endpoint) -> str | None:
    for field in endpoint.rejected_fields:
        if field in body:
            return msg.not_supported_on(field, endpoint.path)
    return None


_TOP_LEVEL_TYPES: tuple[tuple[str, type, str], ...] = (
    ("broadcast", bool, "a boolean"),
    ("recipients", list, "an array"),
    ("audience", dict, "an object"),
    ("send_id", str, "a string"),
    ("attachments", list, "an array"),
)


def _check_types(body: dict[str, Any], endpoint: Endpoint) -> str | None:
    for field, expected, name in _TOP_LEVEL_TYPES:
        if present(body, field) and not isinstance(body[field], expected):
            # S4: "the audience parameter does not support array of objects" gets its own wording.
            return msg.AUDIENCE_INVALID if field == "audience" else msg.wrong_type(field, name)
    for field in endpoint.property_fields:
        if present(body, field) and not isinstance(body[field], dict):
            return msg.wrong_type(field, "an object")
    return None


def _check_targeting(body: dict[str, Any], _endpoint: Endpoint) -> str | None:
    broadcast = body.get("broadcast") is True
    # "If broadcast is true, recipients cannot be included" - even an empty list is "included".
    if broadcast and present(body, "recipients"):
        return msg.BROADCAST_WITH_RECIPIENTS
    # The docs conflict on audience + broadcast:false without recipients (S1 vs S4's example);
    # we accept it, because Braze's own Connected Audience example sends exactly that.
    if not broadcast and not body.get("recipients") and not present(body, "audience"):
        return msg.NO_RECIPIENTS
    return None


def _check_recipient_count(body: dict[str, Any], _endpoint: Endpoint) -> str | None:
    if len(body.get("recipients") or ()) > MAX_RECIPIENTS:
        return msg.MAX_RECIPIENTS_EXCEEDED
    return None


def _check_recipients(body: dict[str, Any], endpoint: Endpoint) -> str | None:
    for recipient in body.get("recipients") or ():
        error = recipient_error(recipient, endpoint)
        if error:
            return error
    return None


def _check_property_sizes(body: dict[str, Any], endpoint: Endpoint) -> str | None:
    for field in endpoint.property_fields:
        error = property_object_error(body, field)
        if error:
            return error
    return None


def _check_send_id(body: dict[str, Any], _endpoint: Endpoint) -> str | None:
    if not present(body, "send_id"):
        return None
    send_id = body["send_id"]
    if not send_id or len(send_id) > MAX_SEND_ID_CHARS or not send_id.isascii():
        return msg.SEND_ID_INVALID
    return None


def _check_attachments(body: dict[str, Any], _endpoint: Endpoint) -> str | None:
    if not present(body, "attachments"):
        return None
    if body.get("broadcast") is True:
        return msg.ATTACHMENTS_WITH_BROADCAST
    for attachment in body["attachments"]:
        if not _is_valid_attachment(attachment):
            return msg.ATTACHMENT_INVALID
    return None


def _is_valid_attachment(attachment: Any) -> bool:
    if not isinstance(attachment, dict):
        return False
    required_ok = all(isinstance(attachment.get(key), str) and attachment[key] for key in ("file_name", "url"))
    credential = attachment.get("basic_auth_credential")
    return required_ok and (credential is None or isinstance(credential, str))


def _check_audience(body: dict[str, Any], _endpoint: Endpoint) -> str | None:
    if not present(body, "audience"):
        return None
    return None if _is_valid_audience(body["audience"], depth=0) else msg.AUDIENCE_INVALID


def _is_valid_audience(node: Any, depth: int) -> bool:
    # Grammar only (S4): one filter, or {"AND": [...]} / {"OR": [...]} of nodes. Comparisons and
    # values are not checked: the sandbox has no user data to evaluate them against.
    if depth > MAX_AUDIENCE_DEPTH or not isinstance(node, dict) or len(node) != 1:
        return False
    ((key, value),) = node.items()
    if key in ("AND", "OR"):
        return isinstance(value, list) and bool(value) and all(_is_valid_audience(child, depth + 1) for child in value)
    return key in AUDIENCE_FILTERS and isinstance(value, dict)


_CHECKS: tuple[Check, ...] = (
    _check_id,
    _check_rejected_fields,
    _check_types,
    _check_targeting,
    _check_recipient_count,
    _check_recipients,
    _check_property_sizes,
    _check_send_id,
    _check_attachments,
    _check_audience,
)


def validate_trigger_body(body: dict[str, Any], endpoint: Endpoint) -> str | None:
    """Return the first fatal 400 message for `body`, or None when Braze would accept it."""
    for check in _CHECKS:
        error = check(body, endpoint)
        if error:
            return error
    return None


def unknown_fields(body: dict[str, Any], endpoint: Endpoint) -> list[str]:
    """Top-level keys Braze does not document for this endpoint (tolerated, but worth seeing)."""
    return [key for key in body if key not in endpoint.known_fields and key not in endpoint.rejected_fields]
