import pytest

from braze.audience import check_audience
from braze.contract import check_request, check_send
from braze.models import CAMPAIGN_PATH, CANVAS_PATH

CAMPAIGN = {"campaign_id": "c1"}
CANVAS = {"canvas_id": "k1"}
USER = {"external_user_id": "u1"}


def messages(problems):
    return [message for _, message in problems]


def locs(problems):
    return [loc for loc, _ in problems]


def test_valid_campaign_and_canvas_sends_pass():
    assert check_send(CAMPAIGN_PATH, CAMPAIGN, {**USER, "trigger_properties": {"n": 1}}) == []
    assert check_send(CANVAS_PATH, CANVAS, {**USER, "context": {"n": 1}}) == []
    assert check_send(CANVAS_PATH, {**CANVAS, "canvas_entry_properties": {"a": 1}}, USER) == []
    assert check_send(CAMPAIGN_PATH, {**CAMPAIGN, "broadcast": True}, None) == []


@pytest.mark.parametrize(
    "recipient",
    [
        {"external_user_id": "u1", "email": "a@b.c", "prioritization": ["identified"]},
        {"external_user_id": "u1", "user_alias": {"alias_name": "a", "alias_label": "l"}},
        {"trigger_properties": {"a": 1}},
    ],
)
def test_recipient_needs_exactly_one_identifier(recipient):
    problems = check_send(CAMPAIGN_PATH, CAMPAIGN, recipient)
    assert locs(problems) == [("recipient",)]
    assert "exactly one of external_user_id, user_alias, email" in messages(problems)[0]


def test_email_needs_prioritization():
    assert "prioritization" in messages(check_send(CAMPAIGN_PATH, CAMPAIGN, {"email": "a@b.c"}))[0]
    assert check_send(CAMPAIGN_PATH, CAMPAIGN, {"email": "a@b.c", "prioritization": ["identified"]}) == []
    bad = check_send(CAMPAIGN_PATH, CAMPAIGN, {"email": "a@b.c", "prioritization": ["identified", "unidentified"]})
    assert "only one of identified/unidentified" in messages(bad)[0]
    bad = check_send(CAMPAIGN_PATH, CAMPAIGN, {"email": "a@b.c", "prioritization": ["first"]})
    assert locs(bad) == [("recipient", "prioritization", 0)]


def test_alias_fields_are_required_and_byte_limited():
    missing = check_send(CAMPAIGN_PATH, CAMPAIGN, {"user_alias": {"alias_name": "a"}})
    assert locs(missing) == [("recipient", "user_alias", "alias_label")]
    assert check_send(CAMPAIGN_PATH, CAMPAIGN, {"user_alias": {"alias_name": "é" * 118, "alias_label": "l"}}) == []
    too_long = check_send(CAMPAIGN_PATH, CAMPAIGN, {"user_alias": {"alias_name": "é" * 119, "alias_label": "l"}})
    assert locs(too_long) == [("recipient", "user_alias", "alias_name")]
    assert "236 bytes" in messages(too_long)[0]


def test_send_to_existing_only_false_rules():
    alias = {
        "user_alias": {"alias_name": "a", "alias_label": "l"},
        "send_to_existing_only": False,
        "attributes": {"x": 1},
    }
    assert "cannot be used with user_alias" in messages(check_send(CAMPAIGN_PATH, CAMPAIGN, alias))[0]
    no_attrs = {**USER, "send_to_existing_only": False}
    assert "needs non-empty attributes" in messages(check_send(CAMPAIGN_PATH, CAMPAIGN, no_attrs))[0]
    assert check_send(CAMPAIGN_PATH, CAMPAIGN, {**no_attrs, "attributes": {"first_name": "A"}}) == []


def test_broadcast_excludes_recipients_and_attachments():
    body = {**CAMPAIGN, "broadcast": True}
    assert "cannot include recipients" in messages(check_request(CAMPAIGN_PATH, {**body, "recipients": [USER]}))[0]
    attachments = [{"file_name": "f", "url": "https://x/f.pdf"}]
    assert "attachments" in messages(check_request(CAMPAIGN_PATH, {**body, "attachments": attachments}))[0]


def test_no_recipients_without_broadcast_is_rejected():
    assert "recipients are required" in messages(check_request(CAMPAIGN_PATH, CAMPAIGN))[0]
    assert "recipients are required" in messages(check_request(CAMPAIGN_PATH, {**CAMPAIGN, "recipients": []}))[0]


def test_fifty_recipients_is_the_limit():
    fifty = [{"external_user_id": str(i)} for i in range(50)]
    assert check_request(CAMPAIGN_PATH, {**CAMPAIGN, "recipients": fifty}) == []
    too_many = check_request(CAMPAIGN_PATH, {**CAMPAIGN, "recipients": [*fifty, USER]})
    assert "51 recipients" in messages(too_many)[0]


def test_properties_are_limited_to_50_kb():
    ok = {"blob": "x" * 49_000}
    big = {"blob": "x" * 50_001}
    assert check_send(CAMPAIGN_PATH, {**CAMPAIGN, "trigger_properties": ok}, USER) == []
    assert locs(check_send(CAMPAIGN_PATH, {**CAMPAIGN, "trigger_properties": big}, USER)) == [("trigger_properties",)]
    assert locs(check_send(CAMPAIGN_PATH, CAMPAIGN, {**USER, "trigger_properties": big})) == [
        ("recipient", "trigger_properties")
    ]
    assert locs(check_send(CANVAS_PATH, {**CANVAS, "context": big}, USER)) == [("context",)]


def test_send_id_is_64_ascii_characters_at_most():
    assert check_send(CAMPAIGN_PATH, {**CAMPAIGN, "send_id": "s" * 64}, USER) == []
    assert locs(check_send(CAMPAIGN_PATH, {**CAMPAIGN, "send_id": "s" * 65}, USER)) == [("send_id",)]
    assert locs(check_send(CAMPAIGN_PATH, {**CAMPAIGN, "send_id": "sé"}, USER)) == [("send_id",)]


def test_canvas_has_no_send_id_or_trigger_properties():
    assert locs(check_send(CANVAS_PATH, {**CANVAS, "send_id": "s"}, USER)) == [("send_id",)]
    assert locs(check_send(CANVAS_PATH, CANVAS, {**USER, "trigger_properties": {}})) == [
        ("recipient", "trigger_properties")
    ]
    assert locs(check_send(CAMPAIGN_PATH, CAMPAIGN, {**USER, "context": {}})) == [("recipient", "context")]


def test_context_and_legacy_name_are_exclusive():
    both = {**CANVAS, "context": {"a": 1}, "canvas_entry_properties": {"a": 1}}
    assert "not both" in messages(check_send(CANVAS_PATH, both, USER))[0]


def test_types_are_strict_no_coercion():
    assert locs(check_send(CAMPAIGN_PATH, {"campaign_id": 123}, USER)) == [("campaign_id",)]
    assert locs(check_send(CAMPAIGN_PATH, CAMPAIGN, {"external_user_id": 5})) == [("recipient", "external_user_id")]
    assert locs(check_send(CAMPAIGN_PATH, {**CAMPAIGN, "broadcast": "yes"}, USER)) == [("broadcast",)]


def test_missing_campaign_id_and_unknown_fields():
    assert check_send(CAMPAIGN_PATH, {}, USER) == [(("campaign_id",), "is required")]
    assert check_send(CAMPAIGN_PATH, {**CAMPAIGN, "segment_id": "s"}, USER) == [
        (("segment_id",), "is not a documented Braze field")
    ]


@pytest.mark.parametrize(
    ("audience", "problem"),
    [
        ({"custom_attribute": {"custom_attribute_name": "plan", "comparison": "equals", "value": "pro"}}, None),
        ({"AND": [{"push_subscription_status": {"comparison": "is", "value": "opted_in"}}]}, None),
        ({"OR": [{"AND": [{"last_used_app": {"comparison": "after", "value": "2026-01-01T00:00:00Z"}}]}]}, None),
        ({"custom_attribute": {"custom_attribute_name": "a", "comparison": "exists"}}, None),
        ({"custom_attribute": {"custom_attribute_name": "a", "comparison": "equals"}}, "value is required"),
        ({"custom_attribute": {"custom_attribute_name": "a", "comparison": "like", "value": 1}}, "not a documented"),
        ({"segment": {"id": "x"}}, "unknown filter"),
        ({"AND": []}, "non-empty list"),
        ([{"AND": []}], "exactly one key"),
        ({"AND": [], "OR": []}, "exactly one key"),
        ({"email_subscription_status": {"comparison": "is", "value": "maybe"}}, "value must be one of"),
    ],
)
def test_audience_grammar(audience, problem):
    result = check_audience(audience)
    if problem is None:
        assert result is None
    else:
        assert problem in result


def test_audience_problems_are_contract_errors():
    body = {**CAMPAIGN, "broadcast": True, "audience": {"AND": []}}
    assert locs(check_request(CAMPAIGN_PATH, body)) == [("audience",)]
