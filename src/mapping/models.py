"""Rule-file models (pydantic v2): the contract in docs/rules.md, and the source of the JSON Schema."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from mapping.source_config import SECRET_REF_PATTERN
from mapping.syntax import expression_source

__all__ = [
    "CampaignTemplate",
    "CanvasTemplate",
    "Destination",
    "Rule",
    "RuleFile",
    "RuleTest",
    "SECRET_REF_PATTERN",
    "Verify",
    "rule_file_schema",
]

SOURCE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
RULE_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
ENDPOINT_PATTERN = r"^https://[^\s/]+$|^http://(localhost|127\.0\.0\.1)(:\d+)?$"
IDENTIFIERS = ("external_user_id", "user_alias", "email")

_EXPRESSION_SCHEMA = {"type": "string", "pattern": r"^\{%[\s\S]*%\}$", "description": "JSONata expression"}


def _typed(kind: str, json_type: str, check: type) -> Any:
    """A value of `json_type` or a `{% %}` expression, with one clear error message."""

    def validate(value: Any) -> Any:
        if isinstance(value, check) or expression_source(value) is not None:
            return value
        raise PydanticCustomError(f"{json_type}_or_expression", f"must be {kind} or a {{% expression %}}")

    schema = {"anyOf": [{"type": json_type}, _EXPRESSION_SCHEMA]}
    return Annotated[Any, BeforeValidator(validate), WithJsonSchema(schema)]


TemplateObject = _typed("an object", "object", dict)
TemplateList = _typed("a list", "array", list)
TemplateBool = _typed("true/false", "boolean", bool)
TemplateValue = Annotated[Any, WithJsonSchema({"description": "any JSON value; strings may be {% expressions %}"})]
TemplateString = Annotated[str, Field(strict=True, min_length=1)]
SecretRef = Annotated[str, StringConstraints(pattern=SECRET_REF_PATTERN, strict=True)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Verify(BaseModel):
    """How ingress authenticates the webhook; preset-specific options sit beside `preset`."""

    model_config = ConfigDict(extra="allow", frozen=True)

    preset: Annotated[str, Field(strict=True, description="stripe, github, shopify, ..., hmac or none")]
    secrets: list[SecretRef] = Field(default_factory=list, description="several = rotation")
    tolerance_seconds: Annotated[int, Field(strict=True, gt=0)] | None = None

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Destination(_Strict):
    endpoint: Annotated[str, StringConstraints(pattern=ENDPOINT_PATTERN, strict=True)] | None = None
    api_key: SecretRef | None = None


class UserAliasTemplate(_Strict):
    alias_name: TemplateString
    alias_label: TemplateString


def _expression_only(value: Any) -> Any:
    if expression_source(value) is not None:
        return value
    raise PydanticCustomError("alias_or_expression", "must be an object or a {% expression %}")


AliasOrExpression = Annotated[
    Annotated[UserAliasTemplate, Tag("object")]
    | Annotated[str, BeforeValidator(_expression_only), WithJsonSchema(_EXPRESSION_SCHEMA), Tag("expression")],
    Discriminator(lambda value: "object" if isinstance(value, dict) else "expression"),
]


class _RecipientTemplate(_Strict):
    external_user_id: TemplateString | None = None
    user_alias: AliasOrExpression | None = None
    email: TemplateString | None = None
    prioritization: TemplateList | None = None
    send_to_existing_only: TemplateBool | None = None
    attributes: TemplateObject | None = None

    @model_validator(mode="after")
    def _one_identifier(self) -> _RecipientTemplate:
        present = [name for name in IDENTIFIERS if getattr(self, name) is not None]
        if len(present) != 1:
            found = f" (has {len(present)}: {', '.join(present)})" if present else ""
            raise PydanticCustomError(
                "recipient_identifier",
                "needs exactly one of external_user_id, user_alias, email{found}",
                {"found": found},
            )
        if self.email is not None and self.prioritization is None:
            raise PydanticCustomError("email_prioritization", "an email recipient needs prioritization")
        if self.send_to_existing_only is False:
            if self.user_alias is not None:
                raise PydanticCustomError("alias_create", "send_to_existing_only: false cannot be used with user_alias")
            if self.attributes is None:
                raise PydanticCustomError("create_attributes", "send_to_existing_only: false needs attributes")
        return self


class CampaignRecipientTemplate(_RecipientTemplate):
    trigger_properties: TemplateObject | None = None


class CanvasRecipientTemplate(_RecipientTemplate):
    context: TemplateObject | None = None
    canvas_entry_properties: TemplateObject | None = None

    @model_validator(mode="after")
    def _one_context(self) -> CanvasRecipientTemplate:
        _check_one_context(self)
        return self


class CampaignTemplate(_Strict):
    campaign_id: TemplateString
    send_id: TemplateString | None = None
    trigger_properties: TemplateObject | None = None
    broadcast: bool = False
    audience: TemplateObject | None = None
    attachments: TemplateList | None = None
    recipient: CampaignRecipientTemplate | None = None

    @model_validator(mode="after")
    def _broadcast_or_recipient(self) -> CampaignTemplate:
        _check_broadcast(self)
        if self.broadcast and self.attachments is not None:
            raise PydanticCustomError("broadcast_attachments", "attachments are not allowed with broadcast: true")
        return self


class CanvasTemplate(_Strict):
    canvas_id: TemplateString
    context: TemplateObject | None = None
    canvas_entry_properties: TemplateObject | None = None
    broadcast: bool = False
    audience: TemplateObject | None = None
    recipient: CanvasRecipientTemplate | None = None

    @model_validator(mode="after")
    def _checks(self) -> CanvasTemplate:
        _check_broadcast(self)
        _check_one_context(self)
        return self


class Rule(_Strict):
    id: Annotated[str, StringConstraints(pattern=RULE_ID_PATTERN, strict=True)]
    description: str | None = None
    when: TemplateBool = True
    for_each: TemplateList | None = None
    idempotency_key: TemplateString | None = None
    on_missing_recipient: Literal["fail", "skip"] = "fail"
    on_ambiguous: Literal["hold", "retry"] = "hold"
    campaign: CampaignTemplate | None = None
    canvas: CanvasTemplate | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Rule:
        if (self.campaign is None) == (self.canvas is None):
            which = "both" if self.campaign is not None else "neither"
            raise PydanticCustomError(
                "rule_target", "needs exactly one of campaign: or canvas: (has {which})", {"which": which}
            )
        return self

    @property
    def target(self) -> CampaignTemplate | CanvasTemplate:
        return self.campaign if self.campaign is not None else self.canvas  # type: ignore[return-value]

    @property
    def kind(self) -> Literal["campaign", "canvas"]:
        return "campaign" if self.campaign is not None else "canvas"


class ExpectedRequest(_Strict):
    path: Literal["/campaigns/trigger/send", "/canvas/trigger/send"]
    body: dict[str, Any]


class ExpectedError(_Strict):
    rule: str | None = None
    message: str = Field(default="", description="a substring of the error message")


class RuleTest(_Strict):
    name: str
    event: Any = None
    event_file: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, Any] = Field(default_factory=dict)
    event_id: str | None = None
    received_at: str | None = None
    expect: list[ExpectedRequest]
    expect_errors: list[ExpectedError] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_event(self) -> RuleTest:
        if (self.event is None) == (self.event_file is None):
            raise PydanticCustomError("test_event", "needs exactly one of event: or event_file:")
        return self


class RuleFile(_Strict):
    version: Literal[1]
    source: Annotated[str, StringConstraints(pattern=SOURCE_PATTERN, strict=True)]
    description: str | None = None
    verify: Verify
    event_id: TemplateString | None = None
    event_type: TemplateString | None = None
    destination: Destination | None = None
    rules: Annotated[list[Rule], Field(min_length=1)]
    tests: list[RuleTest] = Field(default_factory=list)


def rule_file_schema() -> dict[str, Any]:
    """The JSON Schema of rule files (`braze-adapter schema`)."""
    schema = RuleFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "braze-webhook-adapter rule file"
    return schema


def _check_broadcast(target: CampaignTemplate | CanvasTemplate) -> None:
    if target.broadcast and target.recipient is not None:
        raise PydanticCustomError("broadcast_recipient", "broadcast: true cannot have a recipient")
    if not target.broadcast and target.recipient is None:
        raise PydanticCustomError("no_recipient", "needs a recipient, or broadcast: true")


def _check_one_context(target: CanvasTemplate | CanvasRecipientTemplate) -> None:
    if target.context is not None and target.canvas_entry_properties is not None:
        raise PydanticCustomError("two_contexts", "use context or canvas_entry_properties (its older name), not both")
