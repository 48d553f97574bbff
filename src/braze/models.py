"""Braze `POST /campaigns/trigger/send` and `POST /canvas/trigger/send` bodies, as documented.

The models validate; they never rewrite. A body is sent exactly as the rules rendered it, so they
are strict (no coercion) and every documented limit is checked before a request can leave:
one identifier per recipient, alias fields of at most 236 bytes, `email` with `prioritization`,
`send_to_existing_only: false` only with `attributes` and never with an alias, broadcast excludes
recipients and attachments, at most 50 recipients, properties of at most 50 KB, `send_id` of at
most 64 ASCII characters.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from braze.audience import check_audience

__all__ = [
    "CAMPAIGN_PATH",
    "CANVAS_PATH",
    "MAX_PROPERTIES_BYTES",
    "MAX_RECIPIENTS",
    "CampaignRecipient",
    "CampaignTriggerSend",
    "CanvasRecipient",
    "CanvasTriggerSend",
    "UserAlias",
    "json_size",
]

CAMPAIGN_PATH = "/campaigns/trigger/send"
CANVAS_PATH = "/canvas/trigger/send"
MAX_RECIPIENTS = 50
MAX_ALIAS_BYTES = 236
MAX_SEND_ID_CHARS = 64
# Braze says "50 KB"; we read it as 50,000 bytes of compact JSON so a body that passes here
# passes under either reading of the unit.
MAX_PROPERTIES_BYTES = 50_000
PRIORITIZATION_VALUES = ("identified", "unidentified", "most_recently_updated", "least_recently_updated")

Properties = dict[str, Any]


def json_size(value: Any) -> int:
    """Bytes of `value` as compact UTF-8 JSON (how it travels)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def _check_size(value: Properties | None, name: str) -> Properties | None:
    if value is not None and json_size(value) > MAX_PROPERTIES_BYTES:
        raise PydanticCustomError(
            "properties_too_large",
            "{name} is {size} bytes; Braze allows at most 50 KB",
            {"name": name, "size": json_size(value)},
        )
    return value


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


NonEmpty = Annotated[str, Field(min_length=1)]


class UserAlias(_Body):
    alias_name: NonEmpty
    alias_label: NonEmpty

    @field_validator("alias_name", "alias_label")
    @classmethod
    def _byte_limit(cls, value: str) -> str:
        if len(value.encode()) > MAX_ALIAS_BYTES:
            raise PydanticCustomError("alias_too_long", "is longer than 236 bytes")
        return value


class _Recipient(_Body):
    external_user_id: NonEmpty | None = None
    user_alias: UserAlias | None = None
    email: NonEmpty | None = None
    prioritization: list[Literal[PRIORITIZATION_VALUES]] | None = None  # type: ignore[valid-type]
    send_to_existing_only: bool | None = None
    attributes: Properties | None = None

    @model_validator(mode="after")
    def _identifier_rules(self) -> _Recipient:
        present = [name for name in ("external_user_id", "user_alias", "email") if getattr(self, name) is not None]
        if len(present) != 1:
            raise PydanticCustomError(
                "recipient_identifier",
                "a recipient needs exactly one of external_user_id, user_alias, email (has {count})",
                {"count": ", ".join(present) or "none"},
            )
        if self.email is not None:
            order = self.prioritization or []
            if not order:
                raise PydanticCustomError("prioritization", "an email recipient needs a non-empty prioritization")
            if "identified" in order and "unidentified" in order:
                raise PydanticCustomError(
                    "prioritization", "prioritization may hold only one of identified/unidentified"
                )
        if self.send_to_existing_only is False:
            if self.user_alias is not None:
                raise PydanticCustomError("alias_create", "send_to_existing_only: false cannot be used with user_alias")
            if not self.attributes:
                raise PydanticCustomError(
                    "create_attributes", "send_to_existing_only: false needs non-empty attributes"
                )
        return self


class CampaignRecipient(_Recipient):
    trigger_properties: Properties | None = None

    _size = field_validator("trigger_properties")(lambda v: _check_size(v, "trigger_properties"))


class CanvasRecipient(_Recipient):
    context: Properties | None = None
    canvas_entry_properties: Properties | None = None

    _size = field_validator("context", "canvas_entry_properties")(lambda v, info: _check_size(v, info.field_name))

    @model_validator(mode="after")
    def _one_context(self) -> CanvasRecipient:
        _check_one_context(self)
        return self


class Attachment(_Body):
    file_name: NonEmpty
    url: Annotated[str, Field(pattern=r"^https?://\S+$")]
    basic_auth_credential: NonEmpty | None = None


class _TriggerSend(_Body):
    broadcast: bool | None = None
    audience: dict[str, Any] | None = None

    @field_validator("audience")
    @classmethod
    def _audience_grammar(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            problem = check_audience(value)
            if problem:
                raise PydanticCustomError("audience", "{problem}", {"problem": problem})
        return value

    def _check_targeting(self, recipients: list[Any] | None) -> None:
        if self.broadcast:
            if recipients is not None:
                raise PydanticCustomError("broadcast_recipients", "broadcast: true cannot include recipients")
        elif not recipients:
            raise PydanticCustomError(
                "no_recipients", "recipients are required unless broadcast is true (Braze: 'No Recipients')"
            )
        if recipients is not None and len(recipients) > MAX_RECIPIENTS:
            raise PydanticCustomError(
                "too_many_recipients",
                "{count} recipients; Braze allows at most 50 per request",
                {"count": len(recipients)},
            )


class CampaignTriggerSend(_TriggerSend):
    """Body of `POST /campaigns/trigger/send`."""

    campaign_id: NonEmpty
    send_id: NonEmpty | None = None
    trigger_properties: Properties | None = None
    recipients: list[CampaignRecipient] | None = None
    attachments: list[Attachment] | None = None

    _size = field_validator("trigger_properties")(lambda v: _check_size(v, "trigger_properties"))

    @field_validator("send_id")
    @classmethod
    def _send_id(cls, value: str | None) -> str | None:
        if value is not None and (len(value) > MAX_SEND_ID_CHARS or not value.isascii()):
            raise PydanticCustomError("send_id", "must be at most 64 ASCII characters")
        return value

    @model_validator(mode="after")
    def _targeting(self) -> CampaignTriggerSend:
        self._check_targeting(self.recipients)
        if self.broadcast and self.attachments is not None:
            raise PydanticCustomError("broadcast_attachments", "attachments are not allowed with broadcast: true")
        return self


class CanvasTriggerSend(_TriggerSend):
    """Body of `POST /canvas/trigger/send` (`context`, or its older name `canvas_entry_properties`)."""

    canvas_id: NonEmpty
    context: Properties | None = None
    canvas_entry_properties: Properties | None = None
    recipients: list[CanvasRecipient] | None = None

    _size = field_validator("context", "canvas_entry_properties")(lambda v, info: _check_size(v, info.field_name))

    @model_validator(mode="after")
    def _targeting(self) -> CanvasTriggerSend:
        self._check_targeting(self.recipients)
        _check_one_context(self)
        return self


def _check_one_context(model: CanvasRecipient | CanvasTriggerSend) -> None:
    if model.context is not None and model.canvas_entry_properties is not None:
        raise PydanticCustomError("two_contexts", "use context or canvas_entry_properties, not both")
