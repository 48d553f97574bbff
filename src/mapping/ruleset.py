"""A validated rule file with every template compiled, ready to map events."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from braze.batching import Destination
from braze.models import CAMPAIGN_PATH, CANVAS_PATH
from mapping.exceptions import Problem, RuleFileError
from mapping.loader import parse_document, read_text
from mapping.models import Rule, RuleFile
from mapping.templates import Template, compile_template

__all__ = ["CompiledRule", "RuleSet", "load_ruleset", "parse_ruleset"]


@dataclass(frozen=True)
class CompiledRule:
    index: int
    id: str
    kind: Literal["campaign", "canvas"]
    path: str
    when: Template | None
    for_each: Template | None
    idempotency_key: Template | None
    body: Template
    recipient: Template | None
    on_missing_recipient: str
    on_ambiguous: str

    @property
    def location(self) -> str:
        """`rules[2]`: where this rule sits in its file."""
        return f"rules[{self.index}]"

    @classmethod
    def from_model(cls, index: int, rule: Rule, raw: dict[str, Any]) -> CompiledRule:
        """Compile a validated rule; `raw` is its mapping as written, whose key order the bodies keep."""
        target = dict(raw[rule.kind])
        recipient = target.pop("recipient", None)
        body = target
        return cls(
            index=index,
            id=rule.id,
            kind=rule.kind,
            path=CAMPAIGN_PATH if rule.kind == "campaign" else CANVAS_PATH,
            when=None if rule.when is True else compile_template(rule.when),
            for_each=None if rule.for_each is None else compile_template(rule.for_each),
            idempotency_key=None if rule.idempotency_key is None else compile_template(rule.idempotency_key),
            body=compile_template(body),
            recipient=None if recipient is None else compile_template(recipient),
            on_missing_recipient=rule.on_missing_recipient,
            on_ambiguous=rule.on_ambiguous,
        )


@dataclass(frozen=True)
class RuleSet:
    """Everything needed to map events of one source."""

    name: str
    model: RuleFile
    rules: tuple[CompiledRule, ...]
    event_id: Template | None
    event_type: Template | None
    destination: Destination
    digest: str
    version: str | None = None
    warnings: tuple[Problem, ...] = ()

    @property
    def source(self) -> str:
        return self.model.source

    @property
    def preset(self) -> str:
        return self.model.verify.preset

    @property
    def signature_headers(self) -> tuple[str, ...]:
        """Headers redacted by name from the rule file (a custom `hmac` header), beyond the usual ones."""
        from sources.presets import get_preset

        return get_preset(self.preset).signature_headers(self.model.verify.options)


def parse_ruleset(text: str, name: str, *, version: str | None = None, check_files: bool = True) -> RuleSet:
    """Validate and compile rule-file text (`check_files=False` for files read from S3).

    Raises
    ------
    RuleFileError
        With every located problem when the file is invalid.
    """
    from mapping.validation import validate_document  # validation pulls in the presets

    document = parse_document(text, name)
    model, problems = validate_document(document, check_files=check_files)
    if model is None:
        raise RuleFileError(problems)
    destination = model.destination
    return RuleSet(
        name=name,
        model=model,
        rules=tuple(
            CompiledRule.from_model(index, rule, document.data["rules"][index])
            for index, rule in enumerate(model.rules)
        ),
        event_id=None if model.event_id is None else compile_template(model.event_id),
        event_type=None if model.event_type is None else compile_template(model.event_type),
        destination=Destination(destination.endpoint, destination.api_key) if destination else Destination(),
        digest=hashlib.sha256(text.encode()).hexdigest(),
        version=version,
        warnings=tuple(problems),
    )


def load_ruleset(path: str | Path) -> RuleSet:
    """Read, validate and compile a rule file from disk (see `parse_ruleset`)."""
    return parse_ruleset(read_text(path), str(path))
