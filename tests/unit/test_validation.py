"""Every malformed rule file is rejected with located problems (file, line, field path)."""

import json
import textwrap

import pytest

from mapping.exceptions import RuleFileError
from mapping.loader import parse_document
from mapping.ruleset import parse_ruleset
from mapping.validation import validate_document

HEADER = """\
version: 1
source: shop
verify: {preset: hmac, header: x-signature, secrets: ["env:SHOP_SECRET"]}
"""


def problems(text, name="rules/shop.yaml"):
    model, found = validate_document(parse_document(textwrap.dedent(text), name))
    return model, [str(p) for p in found]


def errors_of(text, name="rules/shop.yaml"):
    model, found = problems(text, name)
    assert model is None, "expected the file to be rejected"
    return [p for p in found if "warning:" not in p]


def test_valid_file_has_no_problems():
    model, found = problems(
        HEADER
        + """\
rules:
  - id: welcome
    campaign:
      campaign_id: c1
      recipient: {external_user_id: "{% user.id %}"}
"""
    )
    assert found == []
    assert model.rules[0].id == "welcome"


def test_unknown_keys_are_located_with_a_suggestion():
    found = errors_of(
        HEADER
        + """\
rules:
  - id: welcome
    campain:
      campaign_id: c1
"""
    )
    assert found == ["rules/shop.yaml:6: rules[0].campain: unknown key 'campain' (did you mean 'campaign'?)"]


def test_both_and_neither_target():
    found = errors_of(
        HEADER
        + """\
rules:
  - id: both
    campaign: {campaign_id: c1, broadcast: true}
    canvas: {canvas_id: k1, broadcast: true}
  - id: neither
    description: nothing to do
"""
    )
    assert found == [
        "rules/shop.yaml:5: rules[0]: needs exactly one of campaign: or canvas: (has both)",
        "rules/shop.yaml:8: rules[1]: needs exactly one of campaign: or canvas: (has neither)",
    ]


def test_recipient_with_two_identifiers_names_the_path():
    found = errors_of(
        HEADER
        + """\
rules:
  - id: a
    campaign: {campaign_id: c1, broadcast: true}
  - id: b
    campaign: {campaign_id: c1, broadcast: true}
  - id: c
    campaign:
      campaign_id: c1
      recipient:
        external_user_id: "{% id %}"
        email: "{% email %}"
        prioritization: [identified]
"""
    )
    assert found == [
        "rules/shop.yaml:12: rules[2].campaign.recipient: "
        "needs exactly one of external_user_id, user_alias, email (has 2: external_user_id, email)"
    ]


def test_broadcast_with_recipient_and_recipient_missing():
    found = errors_of(
        HEADER
        + """\
rules:
  - id: a
    campaign:
      campaign_id: c1
      broadcast: true
      recipient: {external_user_id: u}
  - id: b
    canvas: {canvas_id: k1}
"""
    )
    assert found == [
        "rules/shop.yaml:6: rules[0].campaign: broadcast: true cannot have a recipient",
        "rules/shop.yaml:11: rules[1].canvas: needs a recipient, or broadcast: true",
    ]


def test_source_must_match_file_name_and_pattern():
    found = errors_of(
        HEADER.replace("source: shop", "source: Shop!")
        + "rules: [{id: a, campaign: {campaign_id: c, broadcast: true}}]\n"
    )
    assert any(p.startswith("rules/shop.yaml:2: source: 'Shop!' does not match") for p in found)
    found = errors_of(
        HEADER + "rules: [{id: a, campaign: {campaign_id: c, broadcast: true}}]\n", name="rules/stripe.yaml"
    )
    assert found == ["rules/stripe.yaml:2: source: source 'shop' must equal the file name ('stripe')"]


def test_duplicate_rule_ids():
    found = errors_of(
        HEADER
        + """\
rules:
  - id: a
    campaign: {campaign_id: c, broadcast: true}
  - id: a
    campaign: {campaign_id: c, broadcast: true}
"""
    )
    assert found == ["rules/shop.yaml:7: rules[1].id: duplicate rule id 'a' (first used by rules[0])"]


def test_expressions_that_do_not_compile_are_all_reported():
    found = errors_of(
        HEADER
        + """\
event_id: "{% $.id + %}"
rules:
  - id: a
    when: "{% type = %}"
    campaign:
      campaign_id: c
      recipient:
        external_user_id: "{% user.( %}"
"""
    )
    assert [p.split(": expression")[0] for p in found] == [
        "rules/shop.yaml:4: event_id",
        "rules/shop.yaml:7: rules[0].when",
        "rules/shop.yaml:11: rules[0].campaign.recipient.external_user_id",
    ]
    assert all("does not compile" in p for p in found)


def test_unknown_preset_lists_the_presets():
    found = errors_of(
        HEADER.replace("preset: hmac, header: x-signature", "preset: stripey")
        + "rules: [{id: a, campaign: {campaign_id: c, broadcast: true}}]\n"
    )
    assert len(found) == 1
    assert found[0].startswith("rules/shop.yaml:3: verify.preset: unknown preset 'stripey'; expected one of: ")
    assert "stripe" in found[0] and "standard-webhooks" in found[0]


def test_preset_options_and_secrets_are_checked():
    found = errors_of("""\
version: 1
source: shop
verify: {preset: hmac, algorithm: md5}
rules: [{id: a, campaign: {campaign_id: c, broadcast: true}}]
""")
    assert "rules/shop.yaml:3: verify.secrets: preset hmac needs at least one secret reference" in found
    assert any(p.startswith("rules/shop.yaml:3: verify.algorithm:") for p in found)
    assert any("verify.header" in p for p in found)


def test_secret_references_must_be_references():
    found = errors_of(
        HEADER.replace('"env:SHOP_SECRET"', "whsec_literal_secret")
        + "rules: [{id: a, campaign: {campaign_id: c, broadcast: true}}]\n"
    )
    assert len(found) == 1 and found[0].startswith(
        "rules/shop.yaml:3: verify.secrets[0]: 'whsec_literal_secret' does not match"
    )


def test_typed_template_fields_give_one_clear_message():
    found = errors_of(
        HEADER
        + """\
rules:
  - id: a
    when: "yes please"
    campaign:
      campaign_id: 42
      trigger_properties: "not an object"
      recipient: {user_alias: "alias"}
"""
    )
    assert found == [
        "rules/shop.yaml:6: rules[0].when: must be true/false or a {% expression %}",
        "rules/shop.yaml:8: rules[0].campaign.campaign_id: Input should be a valid string",
        "rules/shop.yaml:9: rules[0].campaign.trigger_properties: must be an object or a {% expression %}",
        "rules/shop.yaml:10: rules[0].campaign.recipient.user_alias: must be an object or a {% expression %}",
    ]


def test_email_and_send_to_existing_only_rules_are_static_errors():
    found = errors_of(
        HEADER
        + """\
rules:
  - id: a
    campaign:
      campaign_id: c
      recipient: {email: "{% email %}"}
  - id: b
    campaign:
      campaign_id: c
      recipient: {user_alias: {alias_name: x, alias_label: y}, send_to_existing_only: false, attributes: {a: 1}}
  - id: c
    canvas:
      canvas_id: k
      recipient: {external_user_id: u, send_to_existing_only: false}
"""
    )
    assert found == [
        "rules/shop.yaml:8: rules[0].campaign.recipient: an email recipient needs prioritization",
        "rules/shop.yaml:12: rules[1].campaign.recipient: send_to_existing_only: false cannot be used with user_alias",
        "rules/shop.yaml:16: rules[2].canvas.recipient: send_to_existing_only: false needs attributes",
    ]


def test_campaign_and_canvas_property_names_do_not_mix():
    found = errors_of(
        HEADER
        + """\
rules:
  - id: a
    canvas:
      canvas_id: k
      trigger_properties: {a: 1}
      recipient: {external_user_id: u, trigger_properties: {a: 1}}
"""
    )
    assert found == [
        "rules/shop.yaml:8: rules[0].canvas.trigger_properties: unknown key 'trigger_properties' "
        "(canvases take context)",
        "rules/shop.yaml:9: rules[0].canvas.recipient.trigger_properties: unknown key 'trigger_properties' "
        "(canvases take context)",
    ]


def test_campaigns_do_not_take_context():
    found = errors_of(
        HEADER
        + """\
rules:
  - id: a
    campaign: {campaign_id: c, context: {a: 1}, broadcast: true}
"""
    )
    assert found == [
        "rules/shop.yaml:6: rules[0].campaign.context: unknown key 'context' (campaigns take trigger_properties)"
    ]


def test_all_problems_in_a_file_are_reported_not_just_the_first():
    found = errors_of("""\
version: 2
source: shop
verify: {preset: nope}
rules:
  - id: Bad Id
    campaign: {campaign_id: c, broadcast: true}
  - id: ok
    campaign: {campaign_id: "{% ( %}", broadcast: true}
tests:
  - name: t
    event_file: missing.json
    expect: []
""")
    paths = [p.split(": ")[1] for p in found]
    assert paths == ["version", "verify.preset", "rules[0].id", "rules[1].campaign.campaign_id", "tests[0].event_file"]


def test_yaml_syntax_and_duplicate_keys():
    with pytest.raises(RuleFileError) as info:
        parse_ruleset("version: 1\nrules: [\n", "rules/shop.yaml")
    assert str(info.value).startswith("rules/shop.yaml:3: invalid YAML")
    found = errors_of(HEADER + "source: shop\nrules: [{id: a, campaign: {campaign_id: c, broadcast: true}}]\n")
    assert found == ["rules/shop.yaml:4: source: duplicate key 'source'"]


def test_yaml_dates_stay_strings():
    model, found = problems(
        HEADER
        + """\
rules:
  - id: a
    campaign: {campaign_id: c, broadcast: true, trigger_properties: {launch: 2026-01-01}}
"""
    )
    assert found == []
    assert model.rules[0].campaign.trigger_properties == {"launch": "2026-01-01"}


def test_json_rule_files_are_located_too():
    data = {
        "version": 1,
        "source": "shop",
        "verify": {"preset": "none"},
        "rules": [{"id": "a", "campaign": {"campaign_id": "c", "recipient": {}}}],
    }
    text = json.dumps(data, indent=2)
    _, found = validate_document(parse_document(text, "rules/shop.json"))
    assert [str(p) for p in found] == [
        "rules/shop.json:12: rules[0].campaign.recipient: needs exactly one of external_user_id, user_alias, email"
    ]
    with pytest.raises(RuleFileError, match=r"rules/shop.json:1: invalid JSON"):
        parse_ruleset("{", "rules/shop.json")
    with pytest.raises(RuleFileError, match="duplicate key 'source'"):
        parse_ruleset('{"source": "a", "source": "b"}', "rules/shop.json")


def test_warnings_do_not_block():
    model, found = problems(
        HEADER
        + """\
rules:
  - id: a
    campaign:
      campaign_id: c
      trigger_properties: {sent: "{% $now() %}", greeting: "Hi {% name %}"}
      recipient: {external_user_id: u}
"""
    )
    assert model is not None
    assert found == [
        "rules/shop.yaml:8: rules[0].campaign.trigger_properties.greeting: warning: contains '{%' but is not wholly "
        "a {% expression %}; it is used as literal text",
        "rules/shop.yaml:8: rules[0].campaign.trigger_properties.sent: warning: $now() is non-deterministic: "
        "replays would map this event differently",
    ]


def test_calling_a_function_that_does_not_exist_is_a_located_error():
    # jsonata-python has no $uuid() (Step Functions does): every evaluation that reaches it fails.
    model, found = problems(
        HEADER
        + """\
event_id: "{% $uuid() %}"
rules:
  - id: a
    when: "{% flag ? $uuid() = 'x' : true %}"
    campaign:
      campaign_id: c
      trigger_properties: {at: "{% $now() %}", n: "{% $millis() + $random() %}", ref: "{% $string($nosuch(1)) %}"}
      recipient: {external_user_id: "{% $lookup(user, 'id') ~> $uppercase %}"}
"""
    )
    assert model is None
    assert found == [
        "rules/shop.yaml:4: event_id: $uuid() does not exist in this JSONata engine: this expression fails on "
        "every evaluation that reaches it (for a unique value use $eventId, with $index inside for_each)",
        "rules/shop.yaml:7: rules[0].when: $uuid() does not exist in this JSONata engine: rule a fails on "
        "every evaluation that reaches it (for a unique value use $eventId, with $index inside for_each)",
        "rules/shop.yaml:10: rules[0].campaign.trigger_properties.ref: $nosuch() does not exist in this JSONata "
        "engine: rule a fails on every evaluation that reaches it",
        # The functions that do evaluate keep their warning.
        "rules/shop.yaml:10: rules[0].campaign.trigger_properties.at: warning: $now() is non-deterministic: "
        "replays would map this event differently",
        "rules/shop.yaml:10: rules[0].campaign.trigger_properties.n: warning: $millis() is non-deterministic: "
        "replays would map this event differently",
        "rules/shop.yaml:10: rules[0].campaign.trigger_properties.n: warning: $random() is non-deterministic: "
        "replays would map this event differently",
    ]


@pytest.mark.parametrize(
    ("options", "warned"),
    [
        ("timestamp_header: x-ts", True),  # signed defaults to body
        ("timestamp_header: x-ts, signed: body", True),
        ("timestamp_header: x-ts, signed: timestamp.body", False),
        ("signed: body", False),  # no timestamp, no tolerance window to be fooled by
    ],
)
def test_hmac_timestamp_outside_the_signature_is_a_located_warning(options, warned):
    from mapping.source_config import parse_source_config

    text = HEADER.replace("header: x-signature,", f"header: x-signature, {options},") + (
        "rules: [{id: a, campaign: {campaign_id: c, broadcast: true}}]\n"
    )
    model, found = problems(text)
    assert model is not None
    expected = (
        "rules/shop.yaml:3: verify.timestamp_header: warning: the timestamp is not signed (signed: body), so "
        "tolerance_seconds gives no replay protection; use signed: timestamp.body if the sender signs it"
    )
    assert found == ([expected] if warned else [])
    assert parse_source_config(text, "rules/shop.yaml").preset == "hmac"  # ingress accepts the file either way


def test_description_keys_inside_properties_are_still_checked():
    found = errors_of(
        HEADER
        + """\
rules:
  - id: a
    description: "{% not checked: prose %}"
    campaign:
      campaign_id: c
      broadcast: true
      trigger_properties: {description: "{% ( %}"}
"""
    )
    assert len(found) == 1 and "rules[0].campaign.trigger_properties.description" in found[0]


def test_not_a_mapping():
    found = errors_of("- just\n- a list\n")
    assert found == ["rules/shop.yaml:1: a rule file must be a mapping with version, source, rules"]
