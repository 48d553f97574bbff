"""The mapping engine against the rule-file contract, sentence by sentence."""

import hashlib
import json
import textwrap
import time

from mapping.engine import map_events
from mapping.events import InboundEvent
from mapping.ruleset import parse_ruleset

HEADER = """\
version: 1
source: shop
verify: {preset: hmac, header: x-signature, secrets: ["env:SHOP_SECRET"]}
"""


def ruleset(rules, header=HEADER):
    return parse_ruleset(header + textwrap.dedent(rules), "rules/shop.yaml")


def event(body, **kwargs):
    kwargs.setdefault("received_at", "2026-11-23T10:00:00.000Z")
    return InboundEvent(body=body, raw=json.dumps(body).encode(), **kwargs)


def bodies(result):
    return [request.body for request in result.requests()]


def errors(result):
    return [(e.rule_id, e.path, e.message) for e in result.errors]


WELCOME = """\
rules:
  - id: welcome
    when: "{% type = 'signup' %}"
    campaign:
      campaign_id: c1
      recipient:
        external_user_id: "{% user.id %}"
        trigger_properties:
          plan: "{% user.plan %}"
          seats: "{% user.seats %}"
          trial: "{% user.trial %}"
          score: "{% user.score %}"
          missing: "{% user.nothing %}"
          null_field: "{% user.nulled %}"
"""


def test_numbers_stay_numbers_zero_and_false_survive_missing_fields_vanish():
    user = {"id": "u1", "plan": "pro", "seats": 0, "trial": False, "score": 4.5, "nulled": None}
    result = map_events(ruleset(WELCOME), [event({"type": "signup", "user": user})])
    assert bodies(result) == [
        {
            "campaign_id": "c1",
            "recipients": [
                {
                    "external_user_id": "u1",
                    "trigger_properties": {"plan": "pro", "seats": 0, "trial": False, "score": 4.5},
                }
            ],
        }
    ]


def test_only_true_fires_and_when_must_be_boolean():
    rules = ruleset("""\
rules:
  - id: flag
    when: "{% vip %}"
    campaign: {campaign_id: c1, recipient: {external_user_id: "{% id %}"}}
""")
    result = map_events(
        rules,
        [
            event({"id": "a", "vip": True}),
            event({"id": "b", "vip": False}),
            event({"id": "c", "vip": "yes"}),
            event({"id": "d"}),
        ],
    )
    assert [r["recipients"][0]["external_user_id"] for r in bodies(result)] == ["a"]
    assert [(e.event, e.path) for e in result.errors] == [("event[2]", "rules[0].when"), ("event[3]", "rules[0].when")]
    assert "got a string (3 characters)" in result.errors[0].message
    assert "got undefined" in result.errors[1].message


def test_mapping_errors_carry_no_email_addresses():
    # Their messages become dead-letter reasons and log lines in production.
    from braze.sender import summarize

    rules = ruleset("""\
rules:
  - id: typed
    when: "{% email %}"
    campaign: {campaign_id: c1, recipient: {external_user_id: u}}
  - id: compared
    when: "{% email > 5 %}"
    campaign: {campaign_id: c1, recipient: {external_user_id: u}}
  - id: raised
    campaign: {campaign_id: c1, recipient: {external_user_id: "{% $error('no id for ' & email) %}"}}
""")
    result = map_events(rules, [event({"email": "ada.lovelace@example.com"})])
    assert [(e.rule_id, e.message.split(";")[0]) for e in result.errors] == [
        ("typed", "must evaluate to true or false, got a string (24 characters)"),
        (
            "compared",
            "expression {% email > 5 %} The values a***@example.com and 5 either side of operator > must be of "
            "the same data type (at character 0)",
        ),
        ("raised", "expression {% $error('no id for ' & email) %} no id for a***@example.com (at character 7)"),
    ]
    [dead_letter] = summarize(1, [], result.errors)
    assert "ada.lovelace" not in dead_letter.reason and "a***@example.com" in dead_letter.reason


def test_when_describes_a_value_by_type_and_size():
    rules = ruleset("""\
rules:
  - id: r
    when: "{% value %}"
    campaign: {campaign_id: c1, recipient: {external_user_id: u}}
""")
    values = [0, 9.5, "", "x", [], [1, 2], {"a": 1}]
    result = map_events(rules, [event({"value": value}) for value in values])
    assert [e.message.split(";")[0].removeprefix("must evaluate to true or false, got ") for e in result.errors] == [
        "a number",
        "a number",
        "a string (0 characters)",
        "a string (1 character)",
        "a list (0 items)",
        "a list (2 items)",
        "an object (1 key)",
    ]


def test_for_each_binds_item_and_index_while_dollar_stays_the_event():
    rules = ruleset("""\
rules:
  - id: per-item
    for_each: "{% order.items %}"
    campaign:
      campaign_id: c1
      recipient:
        external_user_id: "{% $item.owner %}"
        trigger_properties: {sku: "{% $item.sku %}", position: "{% $index %}", order: "{% $.order.id %}"}
""")
    body = {"order": {"id": 7, "items": [{"sku": "A", "owner": "u1"}, {"sku": "B", "owner": "u2"}]}}
    result = map_events(rules, [event(body)])
    assert bodies(result)[0]["recipients"] == [
        {"external_user_id": "u1", "trigger_properties": {"sku": "A", "position": 0, "order": 7}},
        {"external_user_id": "u2", "trigger_properties": {"sku": "B", "position": 1, "order": 7}},
    ]


def test_for_each_non_array_is_one_element_and_undefined_is_none():
    rules = ruleset("""\
rules:
  - id: per-item
    for_each: "{% order.items %}"
    campaign: {campaign_id: c1, recipient: {external_user_id: "{% $item.owner %}"}}
""")
    one = map_events(rules, [event({"order": {"items": {"owner": "solo"}}})])
    assert bodies(one)[0]["recipients"] == [{"external_user_id": "solo"}]
    none = map_events(rules, [event({"order": {}})])
    assert none.sends == [] and none.errors == []
    assert [s.reason for s in none.skipped] == ["for_each matched nothing"]


def test_missing_recipient_fails_by_default_and_skip_drops_it():
    failing = ruleset("""\
rules:
  - id: r
    campaign: {campaign_id: c1, recipient: {external_user_id: "{% user.id %}"}}
""")
    result = map_events(failing, [event({"user": {}})])
    assert errors(result) == [
        (
            "r",
            "rules[0].campaign.recipient",
            "recipient identifier is undefined or null (set on_missing_recipient: skip to allow this)",
        )
    ]
    skipping = ruleset("""\
rules:
  - id: r
    on_missing_recipient: skip
    campaign: {campaign_id: c1, recipient: {user_alias: {alias_name: "{% email %}", alias_label: email}}}
""")
    result = map_events(skipping, [event({})])
    assert result.errors == [] and result.sends == []
    assert result.skipped[0].rule_id == "r"


def test_contract_violations_are_mapping_errors_with_rule_and_path():
    rules = ruleset("""\
rules:
  - id: alias
    campaign:
      campaign_id: c1
      recipient:
        user_alias: {alias_name: "{% name %}", alias_label: "{% label %}"}
  - id: big
    canvas:
      canvas_id: k1
      context: {blob: "{% blob %}"}
      recipient: {external_user_id: u}
""")
    result = map_events(rules, [event({"name": "x" * 300, "label": "ok", "blob": "y" * 60_000})])
    assert result.sends == []
    assert [(e.rule_id, e.path) for e in result.errors] == [
        ("alias", "rules[0].campaign.recipient.user_alias.alias_name"),
        ("big", "rules[1].canvas.context"),
    ]
    assert "236 bytes" in result.errors[0].message and "50 KB" in result.errors[1].message


def test_one_bad_event_does_not_stop_the_others():
    rules = ruleset(WELCOME)
    result = map_events(
        rules,
        [
            event({"type": "signup", "user": {"id": "u1"}}),
            event({"type": "signup"}),
            event({"type": "signup", "user": {"id": "u3"}}),
        ],
    )
    assert [r["external_user_id"] for r in bodies(result)[0]["recipients"]] == ["u1", "u3"]
    assert [e.event_index for e in result.errors] == [1]


def test_one_bad_for_each_element_does_not_stop_its_siblings():
    rules = ruleset("""\
rules:
  - id: r
    for_each: "{% items %}"
    campaign: {campaign_id: c1, recipient: {external_user_id: "{% $item.id %}"}}
""")
    result = map_events(rules, [event({"items": [{"id": "a"}, {}, {"id": "c"}]})])
    assert [r["external_user_id"] for r in bodies(result)[0]["recipients"]] == ["a", "c"]
    assert len(result.errors) == 1


def test_runaway_expression_stops_with_an_error_naming_the_rule():
    rules = ruleset("""\
rules:
  - id: runaway
    campaign:
      campaign_id: c1
      recipient:
        external_user_id: "{% ($f := function($n){ $n > 0 ? $f($n) : 0 }; [1..100000].($f(1))) %}"
""")
    started = time.monotonic()
    result = map_events(rules, [event({})], timeout_ms=50)
    assert time.monotonic() - started < 2
    assert errors(result)[0][:2] == ("runaway", "rules[0].campaign.recipient.external_user_id")
    assert "timed out after 50 ms" in errors(result)[0][2]


def test_variables_of_the_contract():
    rules = ruleset("""\
rules:
  - id: vars
    campaign:
      campaign_id: c1
      recipient:
        external_user_id: u
        trigger_properties:
          shop: "{% $headers.'x-shop-domain' %}"
          ref: "{% $query.ref %}"
          source: "{% $source %}"
          event_id: "{% $eventId %}"
          received: "{% $receivedAt %}"
""")
    result = map_events(
        rules, [event({"a": 1}, headers={"X-Shop-Domain": "s.example"}, query={"ref": "mail"}, event_id="evt_1")]
    )
    assert bodies(result)[0]["recipients"][0]["trigger_properties"] == {
        "shop": "s.example",
        "ref": "mail",
        "source": "shop",
        "event_id": "evt_1",
        "received": "2026-11-23T10:00:00.000Z",
    }


def test_event_id_comes_from_rule_expression_then_preset_then_body_hash():
    rules_text = """\
rules:
  - id: r
    campaign: {campaign_id: c1, recipient: {external_user_id: u, trigger_properties: {id: "{% $eventId %}"}}}
"""

    def event_id_of(header, body, headers=None):
        result = map_events(ruleset(rules_text, header), [event(body, headers=headers or {})])
        return result.sends[0].event_id

    custom = HEADER + "event_id: \"{% $.meta.id & '-' & $.data.id %}\"\n"
    assert event_id_of(custom, {"meta": {"id": "m"}, "data": {"id": 5}}) == "m-5"
    stripe = HEADER.replace("source: shop", "source: shop").replace(
        "preset: hmac, header: x-signature,", "preset: stripe,"
    )
    assert event_id_of(stripe, {"id": "evt_9"}) == "evt_9"
    github = HEADER.replace("preset: hmac, header: x-signature,", "preset: github,")
    assert event_id_of(github, {}, {"X-GitHub-Delivery": "d-1"}) == "d-1"
    body = {"no": "id"}
    assert event_id_of(HEADER, body) == "sha256:" + hashlib.sha256(json.dumps(body).encode()).hexdigest()


def test_event_type_is_usable_in_when():
    rules = ruleset(
        """\
rules:
  - id: r
    when: "{% $eventType = 'orders/create' %}"
    campaign: {campaign_id: c1, recipient: {external_user_id: u}}
""",
        HEADER.replace("preset: hmac, header: x-signature,", "preset: shopify,"),
    )
    result = map_events(
        rules,
        [
            event({}, headers={"x-shopify-topic": "orders/create"}),
            event({}, headers={"x-shopify-topic": "orders/paid"}),
        ],
    )
    assert [s.event_index for s in result.sends] == [0]


def test_integer_ids_become_strings():
    rules = ruleset("""\
rules:
  - id: r
    campaign: {campaign_id: c1, recipient: {external_user_id: "{% user.id %}"}}
  - id: a
    campaign: {campaign_id: c2, recipient: {user_alias: {alias_name: "{% user.id %}", alias_label: gh}}}
""")
    result = map_events(rules, [event({"user": {"id": 583231}})])
    assert [r["recipients"][0] for r in bodies(result)] == [
        {"external_user_id": "583231"},
        {"user_alias": {"alias_name": "583231", "alias_label": "gh"}},
    ]


def test_same_event_twice_in_a_batch_sends_once():
    rules = ruleset(WELCOME)
    body = {"type": "signup", "user": {"id": "u1"}}
    result = map_events(rules, [event(body, event_id="e1", label="m1"), event(body, event_id="e1", label="m2")])
    assert len(result.sends) == 1
    assert result.skipped[0].reason == "duplicate of a send from m1 in this batch"


def test_for_each_sends_with_colliding_default_keys_are_an_error():
    rules = ruleset("""\
rules:
  - id: per-item
    for_each: "{% items %}"
    campaign: {campaign_id: c1, recipient: {external_user_id: "{% user %}", trigger_properties: {sku: "{% $item %}"}}}
""")
    result = map_events(rules, [event({"user": "u1", "items": ["a", "b"]})])
    assert len(result.sends) == 1
    assert errors(result) == [
        (
            "per-item",
            "rules[0].idempotency_key",
            "two sends of this event have the same idempotency key (same recipient); "
            "set idempotency_key and include $index or $item in it",
        )
    ]


def test_custom_idempotency_keys_are_scoped_to_their_rule():
    rules = ruleset("""\
rules:
  - id: a
    idempotency_key: "{% id %}"
    campaign: {campaign_id: c1, recipient: {external_user_id: u}}
  - id: b
    idempotency_key: "{% id %}"
    campaign: {campaign_id: c2, recipient: {external_user_id: u}}
""")
    result = map_events(rules, [event({"id": "e1"})])
    assert [s.rule_id for s in result.sends] == ["a", "b"] and result.errors == []


def test_custom_idempotency_key_collision_within_an_event_is_reported():
    rules = ruleset("""\
rules:
  - id: a
    for_each: "{% items %}"
    idempotency_key: "{% id %}"
    campaign: {campaign_id: c1, recipient: {external_user_id: "{% $item %}"}}
""")
    result = map_events(rules, [event({"id": "e1", "items": ["u1", "u2"]})])
    assert len(result.sends) == 1
    assert (
        errors(result)[0][2] == "two sends of this event evaluated to the same idempotency_key; make it unique per send"
    )


def test_custom_idempotency_key():
    rules = ruleset("""\
rules:
  - id: per-item
    for_each: "{% items %}"
    idempotency_key: "{% $eventId & ':' & $item %}"
    campaign: {campaign_id: c1, recipient: {external_user_id: "{% user %}", trigger_properties: {sku: "{% $item %}"}}}
""")
    result = map_events(rules, [event({"user": "u1", "items": ["a", "b"]}, event_id="e")])
    assert len(result.sends) == 2 and result.errors == []
    keys = [s.idempotency_key for s in result.sends]
    assert keys[0] != keys[1]
    # the same rule output on a replay gives the same keys
    again = map_events(rules, [event({"items": ["a", "b"], "user": "u1"}, event_id="e")])
    assert [s.idempotency_key for s in again.sends] == keys


def test_idempotency_key_ignores_key_order_and_whitespace_of_the_event():
    rules = ruleset(WELCOME)
    a = InboundEvent(body={"type": "signup", "user": {"id": "u1", "plan": "p"}}, raw=b'{"type":"signup"}', event_id="e")
    b = InboundEvent(
        body={"user": {"plan": "p", "id": "u1"}, "type": "signup"}, raw=b'{ "type" : "signup" }', event_id="e"
    )
    assert map_events(rules, [a]).sends[0].idempotency_key == map_events(rules, [b]).sends[0].idempotency_key


def test_events_are_batched_together_51_make_two_requests_120_make_three():
    rules = ruleset(WELCOME)
    events = [event({"type": "signup", "user": {"id": f"u{i}"}}) for i in range(120)]
    assert [len(b["recipients"]) for b in bodies(map_events(rules, events[:51]))] == [50, 1]
    assert [len(b["recipients"]) for b in bodies(map_events(rules, events))] == [50, 50, 20]


def test_one_event_may_fire_many_rules():
    rules = ruleset("""\
rules:
  - id: a
    campaign: {campaign_id: c1, recipient: {external_user_id: u}}
  - id: b
    canvas: {canvas_id: k1, recipient: {external_user_id: u}}
""")
    result = map_events(rules, [event({})])
    assert [(r.path, r.sends[0].rule_id) for r in result.requests()] == [
        ("/campaigns/trigger/send", "a"),
        ("/canvas/trigger/send", "b"),
    ]


def test_no_rule_matched_is_reported_as_skipped():
    result = map_events(ruleset(WELCOME), [event({"type": "other"})])
    assert [(s.rule_id, s.reason) for s in result.skipped] == [(None, "no rule matched")]


def test_the_spec_example_maps_to_the_bodies_it_implies():
    rules = ruleset(
        """\
destination:
  endpoint: https://rest.iad-01.braze.com
  api_key: secretsmanager:braze-adapter/braze#api_key
rules:
  - id: trial-ending
    when: "{% type = 'customer.subscription.trial_will_end' %}"
    campaign:
      campaign_id: 0b1c2d3e
      trigger_properties: {plan: "{% data.object.plan.nickname %}"}
      recipient:
        external_user_id: "{% data.object.metadata.braze_external_id %}"
        trigger_properties:
          trial_end: "{% $fromMillis(data.object.trial_end * 1000) %}"
    on_missing_recipient: fail
  - id: order-paid-canvas
    when: "{% type = 'checkout.session.completed' %}"
    canvas:
      canvas_id: 7f8e
      recipient:
        user_alias: {alias_name: "{% data.object.customer_details.email %}", alias_label: email}
        context: {total: "{% data.object.amount_total / 100 %}"}
  - id: price-change-broadcast
    when: "{% type = 'price.updated' %}"
    campaign:
      campaign_id: "1234"
      broadcast: true
      audience:
        AND:
          - custom_attribute: {custom_attribute_name: plan, comparison: equals, value: "{% data.object.nickname %}"}
""",
        HEADER.replace("preset: hmac, header: x-signature,", "preset: stripe,"),
    )
    events = [
        event(
            {
                "id": "evt_1",
                "type": "customer.subscription.trial_will_end",
                "data": {
                    "object": {
                        "plan": {"nickname": "Pro"},
                        "trial_end": 1767225600,
                        "metadata": {"braze_external_id": "user-7"},
                    }
                },
            }
        ),
        event(
            {
                "id": "evt_2",
                "type": "checkout.session.completed",
                "data": {"object": {"customer_details": {"email": "ada@example.com"}, "amount_total": 4990}},
            }
        ),
        event({"id": "evt_3", "type": "price.updated", "data": {"object": {"nickname": "Pro"}}}),
    ]
    result = map_events(rules, events)
    assert result.errors == []
    assert [r.to_json()["path"] for r in result.requests()] == [
        "/campaigns/trigger/send",
        "/canvas/trigger/send",
        "/campaigns/trigger/send",
    ]
    assert bodies(result) == [
        {
            "campaign_id": "0b1c2d3e",
            "trigger_properties": {"plan": "Pro"},
            "recipients": [
                {"external_user_id": "user-7", "trigger_properties": {"trial_end": "2026-01-01T00:00:00.000Z"}}
            ],
        },
        {
            "canvas_id": "7f8e",
            "recipients": [
                {"user_alias": {"alias_name": "ada@example.com", "alias_label": "email"}, "context": {"total": 49.9}}
            ],
        },
        {
            "campaign_id": "1234",
            "broadcast": True,
            "audience": {
                "AND": [{"custom_attribute": {"custom_attribute_name": "plan", "comparison": "equals", "value": "Pro"}}]
            },
        },
    ]
    destination = result.sends[0].destination
    assert (destination.endpoint, destination.api_key) == (
        "https://rest.iad-01.braze.com",
        "secretsmanager:braze-adapter/braze#api_key",
    )


def test_map_output_is_the_cli_contract():
    result = map_events(
        ruleset(WELCOME),
        [event({"type": "signup", "user": {"id": "u1"}}, event_id="e"), event({"type": "signup"}, event_id="f")],
    )
    out = result.to_json()
    assert set(out) == {"requests", "skipped", "errors"}
    assert set(out["requests"][0]) == {"path", "body", "idempotency_keys"}
    assert out["errors"] == [
        {
            "event": "event[1]",
            "event_id": "f",
            "rule": "welcome",
            "path": "rules[0].campaign.recipient",
            "message": "recipient identifier is undefined or null (set on_missing_recipient: skip to allow this)",
        }
    ]


def test_a_signature_header_named_by_the_rule_file_is_redacted_as_ingress_queues_it():
    custom = HEADER.replace("header: x-signature", "header: X-Acme-Sig")
    rules = ruleset(
        """\
        rules:
          - id: r
            campaign:
              campaign_id: c
              recipient: {external_user_id: u1, trigger_properties: {sig: "{% $headers.'x-acme-sig' %}"}}
        """,
        header=custom,
    )
    result = map_events(rules, [event({}, headers={"X-Acme-Sig": "sha256=88a56c", "x-request": "r-1"})])
    [body] = bodies(result)
    assert body["recipients"][0]["trigger_properties"] == {"sig": "[redacted]"}
