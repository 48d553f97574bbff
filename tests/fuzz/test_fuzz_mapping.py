"""Fuzz the mapping engine: random events through every example rule file.

Events are (a) random JSON values (dicts, lists, strings, huge integers, NaN-free floats, unicode)
and (b) each file's own test events with random subtrees replaced, removed or retyped.

Property: `map_events(ruleset, [event])` never raises; every batched request passes
`braze.contract.check_request` and has at most 50 recipients; every skipped entry and error names
its event and says why; every send ends up in exactly one request.
"""

from __future__ import annotations

import copy
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, note, settings
from hypothesis import strategies as st

from braze.contract import check_request
from braze.models import MAX_RECIPIENTS
from mapping.engine import MappingResult, map_events
from mapping.events import InboundEvent
from mapping.ruleset import RuleSet, load_ruleset
from mapping.testing import test_event as rule_test_event

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples" / "rules").glob("*.yaml"))
RULESETS = {path.stem: load_ruleset(path) for path in EXAMPLES}
TEST_EVENTS = {
    name: [rule_test_event(test, path.parent) for test in RULESETS[name].model.tests]
    for name, path in ((p.stem, p) for p in EXAMPLES)
}


def fuzz(examples: int) -> settings:
    scale = float(os.environ.get("HYPOTHESIS_FUZZ_SCALE", "1"))
    return settings(settings.get_profile("braze-webhook-adapter-fuzz"), max_examples=max(1, int(examples * scale)))


# --- strategies -------------------------------------------------------------------------------------

# Keys the example rules read, so random objects sometimes hit real paths.
KNOWN_KEYS = sorted(
    {
        "id", "type", "data", "object", "customer", "metadata", "braze_external_id", "amount", "amount_total",
        "currency", "trial_end", "canceled_at", "items", "quantity", "plan", "nickname", "event", "email",
        "userId", "anonymousId", "traits", "properties", "sender", "action", "marketplace_purchase", "sponsorship",
        "meta", "event_name", "attributes", "custom_data", "user_email", "form_response", "answers", "hidden",
        "event_type", "occurred_at", "status", "sg_event_id", "timestamp", "category", "email_addresses",
        "email_address", "primary_email_address_id", "external_id", "first_name", "customer_id", "total_price",
        "line_items", "sku", "order_number", "test", "user_id", "updated_at", "created_at",
    }
)  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([0, -1, 2**31, 2**53 + 1, 2**63, -(2**63), 10**30, 820982911946154508]),
    st.integers(1, 4000).map(lambda digits: 10**digits - 1),  # huge, but below int-to-str's 4300 digits
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1e-320, 1.7976931348623157e308, 0.1, 1e16, 12.5]),
    st.text(max_size=20),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=8),
    st.sampled_from(["", " ", "null", "0", "true", "é", "😀", "\u202e", "2026-01-01"]),
    st.sampled_from([300, 60_000]).map(lambda n: "x" * n),  # over the alias and 50 KB properties limits
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=10), children, max_size=6)
    ),
    max_leaves=30,
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


def _retype(value: Any) -> Any:
    """The same information in another JSON type (what a provider changing its API might do)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return [value]
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    if isinstance(value, dict):
        return list(value.values())
    return {}


def _leaf_paths(value: Any) -> list[tuple[Any, ...]]:
    return [path for path in _paths(value) if path and not isinstance(_at(value, path), dict | list)]


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


def _tweak(value: Any) -> Any:
    """A nearby value of the same type: what a slightly different real event would carry."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value * 10**20 + 1  # beyond 2**53 and 2**64
    if isinstance(value, float):
        return -value * 1e300
    if isinstance(value, str):
        return value + "\u00e9\U0001f600\u202e" if len(value) < 40 else value[: len(value) // 2]
    return value


MUTATIONS = ["replace", "replace", "tweak", "tweak", "remove", "retype", "null", "empty", "grow"]


@st.composite
def mutated_body(draw: st.DrawFn, body: Any) -> Any:
    """`body` with 1 to 5 random subtrees replaced, removed, retyped, nulled, emptied or multiplied.

    Leaves are picked more often than inner nodes, so most mutated events still fire a rule and
    reach rendering, recipient checks and the Braze contract.
    """
    body = copy.deepcopy(body)
    for _ in range(draw(st.integers(1, 5))):
        leaves = _leaf_paths(body)
        path = draw(st.sampled_from(leaves) if leaves and draw(st.integers(0, 3)) else st.sampled_from(_paths(body)))
        op = draw(st.sampled_from(MUTATIONS))
        note(f"{op} at {list(path)}")
        if not path:
            body = draw(json_values) if op in ("replace", "grow") else _retype(body) if op == "retype" else None
            continue
        parent = _at(body, path[:-1])
        key = path[-1]
        if op == "remove":
            del parent[key]
        elif op == "replace":
            parent[key] = draw(json_values)
        elif op == "tweak":
            parent[key] = _tweak(parent[key])
        elif op == "retype":
            parent[key] = _retype(parent[key])
        elif op == "null":
            parent[key] = None
        elif op == "empty":
            parent[key] = type(parent[key])() if isinstance(parent[key], dict | list | str) else 0
        elif op == "grow":  # a list of many copies of this node (many recipients from one for_each)
            parent[key] = [copy.deepcopy(parent[key]) for _ in range(draw(st.integers(2, 70)))]
    return body


headers_for = {
    "github": st.fixed_dictionaries(
        {"x-github-event": st.sampled_from(["marketplace_purchase", "sponsorship", "star", ""]) | st.text(max_size=8)},
        optional={"x-github-delivery": st.text(max_size=40)},
    ),
    "shopify": st.fixed_dictionaries(
        {"x-shopify-topic": st.sampled_from(["orders/create", "app/uninstalled", "customers/create"]) | st.text()},
        optional={"x-shopify-webhook-id": st.text(max_size=40)},
    ),
    "clerk": st.fixed_dictionaries({}, optional={"webhook-id": st.text(max_size=40)}),
}


def _headers(source: str) -> st.SearchStrategy[dict[str, str]]:
    extra = st.dictionaries(st.text(min_size=1, max_size=10).map(str.lower), st.text(max_size=20), max_size=2)
    specific = headers_for.get(source, st.just({}))
    return st.tuples(specific, extra).map(lambda pair: {**pair[1], **pair[0]})


# --- the property -----------------------------------------------------------------------------------


def check_result(ruleset: RuleSet, events: list[InboundEvent], result: MappingResult) -> None:
    rule_ids = {rule.id for rule in ruleset.rules}
    labels = {e.label or f"event[{i}]" for i, e in enumerate(events)}
    for item in result.skipped:
        assert isinstance(item.event, str) and item.event in labels, item
        assert isinstance(item.reason, str) and item.reason.strip(), item
        assert item.rule_id is None or item.rule_id in rule_ids, item
    for error in result.errors:
        assert isinstance(error.event, str) and error.event in labels, error
        assert isinstance(error.message, str) and error.message.strip(), error
        assert error.rule_id is None or error.rule_id in rule_ids, error
    keys = [send.idempotency_key for send in result.sends]
    assert len(keys) == len(set(keys)), "two sends share an idempotency key"
    requests = result.requests()
    batched = [send.idempotency_key for request in requests for send in request.sends]
    assert sorted(batched) == sorted(keys), "every send is in exactly one request"
    for request in requests:
        body = request.body
        assert check_request(request.path, body) == [], (request.path, body)
        recipients = body.get("recipients")
        if request.sends[0].broadcast:
            assert recipients is None and len(request.sends) == 1
        else:
            assert 1 <= len(recipients) <= MAX_RECIPIENTS
        request.to_json()  # the `map` command's output must serialise too
    result.to_json()
    event(f"{len(result.sends)} sends" if len(result.sends) < 3 else "3+ sends")
    if result.errors:
        event("mapping errors")


def map_one(ruleset: RuleSet, inbound: InboundEvent) -> None:
    result = map_events(ruleset, [inbound])
    check_result(ruleset, [inbound], result)


@pytest.mark.parametrize("source", sorted(RULESETS))
@fuzz(14)
@given(data=st.data())
def test_random_json_events_map_without_raising(source, data):
    ruleset = RULESETS[source]
    body = data.draw(json_values, label="body")
    headers = data.draw(_headers(source), label="headers")
    map_one(ruleset, InboundEvent(body=body, headers=headers, received_at="2026-01-01T00:00:00.000Z", label="fuzz"))


@pytest.mark.parametrize("source", sorted(RULESETS))
@fuzz(20)
@given(data=st.data())
def test_mutated_test_events_map_without_raising(source, data):
    ruleset = RULESETS[source]
    original = data.draw(st.sampled_from(TEST_EVENTS[source]), label="test event")
    body = data.draw(mutated_body(original.body), label="body")
    headers = original.headers
    if data.draw(st.booleans(), label="random headers"):
        headers = {**headers, **data.draw(_headers(source), label="headers")}
    # raw=None: the fallback event id then hashes the mutated body, not the original bytes
    map_one(ruleset, replace(original, body=body, raw=None, headers=headers))


@fuzz(10)
@given(
    count=st.integers(MAX_RECIPIENTS + 1, 3 * MAX_RECIPIENTS + 7),
    repeat_every=st.integers(1, 60),
    kind=st.sampled_from(["open", "click", "bounce", "group_unsubscribe"]),
)
def test_many_recipients_are_split_into_requests_of_at_most_50(count, repeat_every, kind):
    """One SendGrid POST with many events: several requests, none above 50 recipients, none repeated."""
    ruleset = RULESETS["sendgrid"]
    body = [
        {
            "email": f"user{i % repeat_every}@example.com",
            "event": kind,
            "timestamp": 1717000000 + i,
            "sg_event_id": f"evt-{i}",
            "asm_group_id": 7,
            "url": "https://example.com",
        }
        for i in range(count)
    ]
    inbound = InboundEvent(body=body, received_at="2026-01-01T00:00:00.000Z", label="batch")
    result = map_events(ruleset, [inbound])
    check_result(ruleset, [inbound], result)
    assert result.sends and not result.errors
    for request in result.requests():
        emails = [recipient["email"] for recipient in request.body["recipients"]]
        assert len(emails) == len(set(emails)), "a recipient repeated inside one request"


@fuzz(10)
@given(data=st.data())
def test_a_batch_of_mutated_events_maps_without_raising(data):
    """Several events of one source in one call, as dispatch maps a whole SQS batch."""
    source = data.draw(st.sampled_from(sorted(RULESETS)), label="source")
    ruleset = RULESETS[source]
    events = []
    for index in range(data.draw(st.integers(2, 12), label="events")):
        original = data.draw(st.sampled_from(TEST_EVENTS[source]))
        body = data.draw(st.just(original.body) | mutated_body(original.body))
        events.append(replace(original, body=body, raw=None, label=f"event-{index}"))
    result = map_events(ruleset, events)
    check_result(ruleset, events, result)
