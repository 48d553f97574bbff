"""Validation of one recipient object (S1, S2, S3, S5, S16).

Each check returns the fatal message for the first problem it finds, or None. Braze treats a
malformed recipient as fatal for the whole request ("no messages are sent"), so one bad entry
fails the batch.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from . import _messages as msg
from ._endpoints import Endpoint

IDENTIFIERS = ("external_user_id", "user_alias", "email")
MAX_ALIAS_BYTES = 236
MAX_PROPERTIES_BYTES = 50 * 1024
PRIORITIZATION_VALUES = frozenset({"identified", "unidentified", "most_recently_updated", "least_recently_updated"})

Check = Callable[[dict[str, Any], Endpoint], "str | None"]


def present(obj: dict[str, Any], field: str) -> bool:
    # JSON null counts as "absent" for optional fields: clients that serialise Optional fields
    # as null should not be punished for it (Braze's behaviour here is UNCONFIRMED).
    return obj.get(field) is not None


def serialized_size(value: Any) -> int:
    # "50 KB" is measured as compact UTF-8 JSON, the smallest honest encoding of the object.
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def property_object_error(obj: dict[str, Any], field: str) -> str | None:
    """Shared rule for trigger_properties / context / canvas_entry_properties, top level or per recipient."""
    if not present(obj, field):
        return None
    if not isinstance(obj[field], dict):
        return msg.wrong_type(field, "an object")
    if serialized_size(obj[field]) > MAX_PROPERTIES_BYTES:
        return msg.too_large(field)
    return None


def _is_nonempty_str(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _check_identifier(recipient: dict[str, Any], _endpoint: Endpoint) -> str | None:
    given = [field for field in IDENTIFIERS if present(recipient, field)]
    if len(given) != 1:
        return msg.IDENTIFIER_RULE
    if given == ["external_user_id"] and not _is_nonempty_str(recipient["external_user_id"]):
        return msg.EXTERNAL_USER_ID_INVALID
    return None


def _check_user_alias(recipient: dict[str, Any], _endpoint: Endpoint) -> str | None:
    if not present(recipient, "user_alias"):
        return None
    alias = recipient["user_alias"]
    if not isinstance(alias, dict):
        return msg.USER_ALIAS_INVALID
    parts = (alias.get("alias_name"), alias.get("alias_label"))
    if not all(_is_nonempty_str(part) for part in parts):
        return msg.USER_ALIAS_INVALID
    # The limit is in bytes (S5), so multi-byte characters count more than once.
    if any(len(part.encode("utf-8")) > MAX_ALIAS_BYTES for part in parts):
        return msg.USER_ALIAS_TOO_LONG
    return None


def _check_email(recipient: dict[str, Any], _endpoint: Endpoint) -> str | None:
    if not present(recipient, "email"):
        return None
    if not _is_nonempty_str(recipient["email"]):
        return msg.EMAIL_INVALID
    if not present(recipient, "prioritization"):
        return msg.PRIORITIZATION_REQUIRED
    return _prioritization_error(recipient["prioritization"])


def _prioritization_error(values: Any) -> str | None:
    if not isinstance(values, list) or not values:
        return msg.PRIORITIZATION_INVALID
    if not all(isinstance(value, str) and value in PRIORITIZATION_VALUES for value in values):
        return msg.PRIORITIZATION_INVALID
    # S16: the array may hold only one of identified / unidentified.
    if {"identified", "unidentified"} <= set(values):
        return msg.PRIORITIZATION_INVALID
    return None


def _check_existing_only(recipient: dict[str, Any], _endpoint: Endpoint) -> str | None:
    if present(recipient, "attributes") and not isinstance(recipient["attributes"], dict):
        return msg.wrong_type("attributes", "an object")
    existing_only = recipient.get("send_to_existing_only", True)
    if existing_only is None:
        existing_only = True
    if not isinstance(existing_only, bool):
        return msg.wrong_type("send_to_existing_only", "a boolean")
    if existing_only:
        return None
    # S1/S3: alias-only users cannot be created this way, and creation needs attributes.
    if present(recipient, "user_alias"):
        return msg.EXISTING_ONLY_WITH_ALIAS
    if not present(recipient, "attributes"):
        return msg.EXISTING_ONLY_NEEDS_ATTRIBUTES
    return None


def _check_properties(recipient: dict[str, Any], endpoint: Endpoint) -> str | None:
    for field in endpoint.recipient_property_fields:
        error = property_object_error(recipient, field)
        if error:
            return error
    return None


_RECIPIENT_CHECKS: tuple[Check, ...] = (
    _check_identifier,
    _check_user_alias,
    _check_email,
    _check_existing_only,
    _check_properties,
)


def recipient_error(recipient: Any, endpoint: Endpoint) -> str | None:
    """Return the fatal message for a malformed recipient, or None when it is valid."""
    if not isinstance(recipient, dict):
        return msg.RECIPIENT_NOT_OBJECT
    for check in _RECIPIENT_CHECKS:
        error = check(recipient, endpoint)
        if error:
            return error
    return None


def identifier_of(recipient: dict[str, Any]) -> tuple[str, str]:
    """(kind, value) naming a *valid* recipient; an alias is named by its alias_name."""
    if present(recipient, "external_user_id"):
        return "external_user_id", recipient["external_user_id"]
    if present(recipient, "email"):
        return "email", recipient["email"]
    return "alias_name", recipient["user_alias"]["alias_name"]
