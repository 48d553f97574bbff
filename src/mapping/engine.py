"""Map events through a rule set into Braze sends, skips and located errors.

One bad event, rule or `for_each` element never stops the others: each problem becomes an entry
in `errors` (with the event, rule id and field path) and mapping goes on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from braze.batching import BrazeRequest, Send, build_requests
from braze.contract import check_send
from braze.idempotency import custom_key, default_key
from mapping.events import InboundEvent, derive_event_id, derive_event_type, variables_for
from mapping.exceptions import MappingError
from mapping.expressions import DEFAULT_TIMEOUT_MS
from mapping.paths import format_loc
from mapping.ruleset import CompiledRule, RuleSet
from mapping.templates import MISSING, render
from sources.redaction import redact_headers

__all__ = ["MappingFailure", "MappingResult", "Skipped", "map_events"]

_IDENTIFIERS = ("external_user_id", "user_alias", "email")


@dataclass(frozen=True)
class Skipped:
    """An event, or one rule for an event, that deliberately produced no send."""

    event_index: int
    event: str
    event_id: str | None
    rule_id: str | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"event": self.event, "event_id": self.event_id, "rule": self.rule_id, "reason": self.reason}


@dataclass(frozen=True)
class MappingFailure:
    """A located mapping error: which event, which rule, which field, what went wrong."""

    event_index: int
    event: str
    event_id: str | None
    rule_id: str | None
    path: str | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "event_id": self.event_id,
            "rule": self.rule_id,
            "path": self.path,
            "message": self.message,
        }


@dataclass
class MappingResult:
    sends: list[Send] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    errors: list[MappingFailure] = field(default_factory=list)

    def requests(self) -> list[BrazeRequest]:
        """The sends batched into Braze requests."""
        return build_requests(self.sends)

    def to_json(self) -> dict[str, Any]:
        """The `map` command's output contract."""
        return {
            "requests": [request.to_json() for request in self.requests()],
            "skipped": [item.to_json() for item in self.skipped],
            "errors": [item.to_json() for item in self.errors],
        }


def map_events(
    ruleset: RuleSet, events: Sequence[InboundEvent], *, timeout_ms: int = DEFAULT_TIMEOUT_MS
) -> MappingResult:
    """Map `events` through `ruleset`; sends of all events are batched together by the caller.

    Example
    -------
    >>> result = map_events(ruleset, [InboundEvent(body={"type": "invoice.paid", ...})])
    >>> [r.to_json() for r in result.requests()]
    """
    result = MappingResult()
    key_owner: dict[str, int] = {}  # idempotency key -> index of the event that produced it first
    keys_sent: set[str] = set()
    for index, event in enumerate(events):
        label = event.label or f"event[{index}]"
        try:
            event_id = derive_event_id(event, ruleset.source, ruleset.preset, ruleset.event_id)
            event_type = derive_event_type(event, ruleset.source, ruleset.preset, ruleset.event_type)
        except MappingError as exc:
            result.errors.append(MappingFailure(index, label, None, None, exc.path, exc.message))
            continue
        mapper = _EventMapper(ruleset, event, index, event_id, event_type, timeout_ms)
        produced = False
        for rule in ruleset.rules:
            for outcome in mapper.apply(rule):
                produced = True
                if isinstance(outcome, MappingError):
                    result.errors.append(MappingFailure(index, label, event_id, rule.id, outcome.path, outcome.message))
                elif isinstance(outcome, Skipped):
                    result.skipped.append(outcome)
                else:
                    owner = key_owner.setdefault(outcome.idempotency_key, index)
                    if owner != index:
                        reason = f"duplicate of a send from {events[owner].label or f'event[{owner}]'} in this batch"
                        result.skipped.append(Skipped(index, label, event_id, rule.id, reason))
                    elif outcome.idempotency_key in keys_sent:
                        path = f"{rule.location}.idempotency_key"
                        message = (
                            "two sends of this event evaluated to the same idempotency_key; make it unique per send"
                            if rule.idempotency_key is not None
                            else "two sends of this event have the same idempotency key (same recipient); "
                            "set idempotency_key and include $index or $item in it"
                        )
                        result.errors.append(MappingFailure(index, label, event_id, rule.id, path, message))
                    else:
                        keys_sent.add(outcome.idempotency_key)
                        result.sends.append(outcome)
        if not produced:
            result.skipped.append(Skipped(index, label, event_id, None, "no rule matched"))
    return result


class _EventMapper:
    """Applies rules to one event; yields sends, skips and errors (never raises MappingError)."""

    def __init__(
        self, ruleset: RuleSet, event: InboundEvent, index: int, event_id: str, event_type: str | None, timeout_ms: int
    ) -> None:
        self.ruleset = ruleset
        self.event = event
        self.index = index
        self.event_id = event_id
        # Rules read the headers as ingress queued them, redacted. Dispatch's already are (redacting again
        # changes nothing); `map` and rule-file tests pass them as sent and must see what production sees.
        # The event id and type were derived from the headers as sent, as ingress derives them.
        queued = replace(event, headers=redact_headers(event.headers, also=ruleset.signature_headers))
        self.variables = variables_for(queued, ruleset.source, event_id, event_type)
        self.timeout_ms = timeout_ms

    def _render(self, template: Any, path: str, rule: CompiledRule, variables: dict[str, Any]) -> Any:
        return render(template, self.event.body, variables, path, rule_id=rule.id, timeout_ms=self.timeout_ms)

    def apply(self, rule: CompiledRule) -> Iterator[Send | Skipped | MappingError]:
        try:
            if not self._fires(rule):
                return
            items = self._items(rule)
        except MappingError as exc:
            yield exc
            return
        if items is not None and not items:
            yield self._skip(rule, "for_each matched nothing")
        for position, item in enumerate(items if items is not None else [None]):
            variables = self.variables if items is None else {**self.variables, "item": item, "index": position}
            try:
                yield self._send(rule, variables)
            except MappingError as exc:
                yield exc
            except _ContractErrors as exc:
                yield from exc.errors

    def _fires(self, rule: CompiledRule) -> bool:
        if rule.when is None:
            return True
        value = self._render(rule.when, f"{rule.location}.when", rule, self.variables)
        if not isinstance(value, bool):
            raise MappingError(
                f"must evaluate to true or false, got {_describe(value)}; "
                "compare explicitly (e.g. `= true`) or use $exists()",
                rule_id=rule.id,
                path=f"{rule.location}.when",
            )
        return value

    def _items(self, rule: CompiledRule) -> list[Any] | None:
        if rule.for_each is None:
            return None
        value = self._render(rule.for_each, f"{rule.location}.for_each", rule, self.variables)
        if value is MISSING:
            return []
        return value if isinstance(value, list) else [value]

    def _skip(self, rule: CompiledRule, reason: str) -> Skipped:
        return Skipped(self.index, self.event.label or f"event[{self.index}]", self.event_id, rule.id, reason)

    def _send(self, rule: CompiledRule, variables: dict[str, Any]) -> Send | Skipped:
        base = f"{rule.location}.{rule.kind}"
        body = self._render(rule.body, base, rule, variables)
        body = {} if body is MISSING else body
        recipient = None
        if rule.recipient is not None:
            rendered = self._render(rule.recipient, f"{base}.recipient", rule, variables)
            recipient = _normalise_identifiers({} if rendered is MISSING else rendered)
            if not any(name in recipient for name in _IDENTIFIERS):
                if rule.on_missing_recipient == "skip":
                    return self._skip(rule, "recipient identifier is undefined or null (on_missing_recipient: skip)")
                raise MappingError(
                    "recipient identifier is undefined or null (set on_missing_recipient: skip to allow this)",
                    rule_id=rule.id,
                    path=f"{base}.recipient",
                )
        problems = check_send(rule.path, body, recipient)
        if problems:
            raise _ContractErrors(
                [
                    MappingError(
                        f"Braze contract: {message}", rule_id=rule.id, path=f"{base}.{format_loc(loc)}".rstrip(".")
                    )
                    for loc, message in problems
                ]
            )
        return Send(
            path=rule.path,
            body=body,
            recipient=recipient,
            idempotency_key=self._key(rule, recipient, variables),
            source=self.ruleset.source,
            rule_id=rule.id,
            event_id=self.event_id,
            event_index=self.index,
            destination=self.ruleset.destination,
            on_ambiguous=rule.on_ambiguous,
            rules_version=self.ruleset.version,
        )

    def _key(self, rule: CompiledRule, recipient: dict[str, Any] | None, variables: dict[str, Any]) -> str:
        if rule.idempotency_key is None:
            return default_key(self.ruleset.source, rule.id, self.event_id, recipient)
        value = self._render(rule.idempotency_key, f"{rule.location}.idempotency_key", rule, variables)
        if value is MISSING or value == "":
            raise MappingError(
                "evaluated to undefined or empty", rule_id=rule.id, path=f"{rule.location}.idempotency_key"
            )
        return custom_key(self.ruleset.source, rule.id, value)


class _ContractErrors(Exception):
    def __init__(self, errors: list[MappingError]) -> None:
        self.errors = errors


def _normalise_identifiers(recipient: dict[str, Any]) -> dict[str, Any]:
    """Integer ids become strings (Braze ids are strings); an alias without a name identifies nobody."""
    recipient = dict(recipient)
    if _is_int(recipient.get("external_user_id")):
        recipient["external_user_id"] = str(recipient["external_user_id"])
    alias = recipient.get("user_alias")
    if isinstance(alias, dict):
        if "alias_name" not in alias:
            del recipient["user_alias"]
        elif _is_int(alias["alias_name"]):
            recipient["user_alias"] = {**alias, "alias_name": str(alias["alias_name"])}
    return recipient


def _describe(value: Any) -> str:
    """A value by its type and size, never its content: mapping errors end up in dead-letter attributes and logs."""
    if value is MISSING:
        return "undefined"
    if isinstance(value, str):
        return f"a string ({_count(len(value), 'character')})"
    if isinstance(value, list):
        return f"a list ({_count(len(value), 'item')})"
    if isinstance(value, dict):
        return f"an object ({_count(len(value), 'key')})"
    return "a number"  # the only JSON value left: booleans are what `when` wants


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
