"""Event ids, event types and handshakes on real payload shapes."""

from __future__ import annotations

import json

import pytest
from sources_testkit import data_bytes, load_vectors, payload

from sources.body import parse_body
from sources.presets import PRESET_NAMES, HandshakeResponse, get_preset
from sources.request import WebhookRequest


def _ids(name, headers, body):
    preset = get_preset(name)
    return preset.event_id(headers, body), preset.event_type(headers, body)


def test_stripe_event_id_and_type():
    body = payload("stripe/payment_intent.succeeded.json")
    assert _ids("stripe", {}, body) == ("evt_1IlYUUJDPojXS6LN7NEWYSm2", "payment_intent.succeeded")


def test_github_delivery_and_event_with_action():
    body = payload("github/marketplace_purchase.purchased.json")
    headers = {"x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958", "x-github-event": "marketplace_purchase"}
    assert _ids("github", headers, body) == ("72d3162e-cc78-11e3-81ab-4c9367dc0958", "marketplace_purchase.purchased")
    # No action (push, ping): the header alone.
    assert _ids("github", {"X-GitHub-Event": "ping"}, {"zen": "Keep it simple."}) == (None, "ping")


def test_shopify_headers():
    body = payload("shopify/orders.create.test-notification.json")
    headers = {"x-shopify-webhook-id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", "x-shopify-topic": "orders/create"}
    assert _ids("shopify", headers, body) == ("b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", "orders/create")


def test_slack_event_callback_and_url_verification():
    callback = payload("slack/event_callback.reaction_added.json")
    assert _ids("slack", {}, callback) == (None, "reaction_added")  # this sample carries no event_id
    assert _ids("slack", {}, {**callback, "event_id": "Ev0PV52K21"}) == ("Ev0PV52K21", "reaction_added")
    assert _ids("slack", {}, payload("slack/url_verification.json")) == (None, "url_verification")


def test_standard_webhooks_both_header_families():
    body = {"type": "user.created", "data": {"id": "user_1"}}
    assert _ids("standard-webhooks", {"webhook-id": "msg_1"}, body) == ("msg_1", "user.created")
    assert _ids("standard-webhooks", {"svix-id": "msg_2"}, body) == ("msg_2", "user.created")


def test_typeform_paddle_square_intercom_calendly_from_vectors():
    typeform = json.loads(load_vectors("typeform.json")[0]["body"])
    assert _ids("typeform", {}, typeform) == ("LtWXD3crgy", "form_response")
    assert _ids("paddle", {}, payload("paddle/customer.created.json")) == (
        "evt_01hs0tqfme2xwb2hvwv87p8y3w",
        "customer.created",
    )
    assert _ids("square", {}, payload("square/webhooks.test_notification.json")) == (
        "ac3ac95b-f97d-458c-a6e6-18981597e05f",
        "webhooks.test_notification",
    )
    intercom = json.loads(load_vectors("intercom.json")[0]["body"])
    assert _ids("intercom", {}, intercom) == ("notif_00000000-0000-0000-0000-000000000000", "contact.user.created")
    calendly = json.loads(load_vectors("calendly.json")[0]["body"])
    assert _ids("calendly", {}, calendly) == (None, "invitee.created")


def test_lemonsqueezy_body_then_header():
    assert _ids("lemonsqueezy", {}, payload("lemonsqueezy/order_created.json")) == (None, "order_created")
    assert _ids("lemonsqueezy", {"X-Event-Name": "subscription_created"}, {"data": {}}) == (
        None,
        "subscription_created",
    )


def test_segment_track_and_identify():
    track = payload("segment/webhooks-destination.track.json")
    assert _ids("segment", {}, track) == (None, "Purchased an Item")
    assert _ids("segment", {}, {**track, "messageId": "ajs-123"}) == ("ajs-123", "Purchased an Item")
    assert _ids("segment", {}, payload("segment/webhooks-destination.identify.json")) == (None, "identify")


def test_sendgrid_array_body_has_no_id_or_type():
    assert _ids("sendgrid", {}, payload("sendgrid/event-webhook.click.json")) == (None, None)


def test_zendesk_twitch_twilio_headers():
    zendesk = json.loads(load_vectors("zendesk.json")[0]["body"])
    assert _ids("zendesk", {"X-Zendesk-Webhook-Invocation-Id": "inv-1"}, zendesk) == (
        "inv-1",
        "zen:event-type:user.created",
    )
    vector = load_vectors("twitch.json")[0]
    assert _ids("twitch", vector["expected_header"], json.loads(vector["body"])) == (
        "e76c6bd4-55c9-4987-8304-da1588d8988b",
        "channel.follow",
    )
    form = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    assert _ids("twilio", {"I-Twilio-Idempotency-Token": "tok-1"}, form) == ("tok-1", None)
    assert _ids("twilio", {}, form) == (None, None)


def test_hubspot_single_and_batched_events():
    one = [{"eventId": 1, "subscriptionType": "contact.creation", "attemptNumber": 0}]
    assert _ids("hubspot", {}, one) == ("1", "contact.creation")
    retry = [{**one[0], "attemptNumber": 3}]
    assert _ids("hubspot", {}, retry)[0] == "1"  # stable across retries, unlike the body hash
    two = [one[0], {"eventId": 2, "subscriptionType": "contact.deletion"}]
    event_id, event_type = _ids("hubspot", {}, two)
    assert event_id.startswith("batch-") and len(event_id) == 6 + 64 and event_type is None
    assert _ids("hubspot", {}, list(reversed(two)))[0] != event_id
    assert _ids("hubspot", {}, [{"subscriptionType": "x"}]) == (None, "x")


WEIRD_BODIES = [None, [], [1, 2], "text", 42, 1.5, True, {}, {"id": {"nested": 1}, "type": ["a"], "event": None},
                {"data": "x", "meta": "y", "subscription": 5, "action": 7}]  # fmt: skip


@pytest.mark.parametrize("name", PRESET_NAMES)
@pytest.mark.parametrize("body", WEIRD_BODIES, ids=repr)
def test_unexpected_shapes_never_crash(name, body):
    preset = get_preset(name)
    for result in (preset.event_id({}, body), preset.event_type({"X-GitHub-Event": "x"}, body)):
        assert result is None or isinstance(result, str)
    assert preset.handshake(WebhookRequest.from_dict({}, b""), body) is None


def test_integer_ids_become_strings_and_booleans_do_not():
    assert get_preset("stripe").event_id({}, {"id": 820982911946154508}) == "820982911946154508"
    assert get_preset("stripe").event_id({}, {"id": True}) is None


def test_slack_url_verification_handshake():
    raw = data_bytes("webhooks/slack/url_verification.json")
    body = parse_body(raw, "application/json")
    response = get_preset("slack").handshake(WebhookRequest.from_dict({}, raw), body)
    assert response == HandshakeResponse(200, "application/json", b'{"challenge": "valid_challenge_token"}')
    assert json.loads(response.body) == {"challenge": "valid_challenge_token"}
    callback = payload("slack/event_callback.reaction_added.json")
    assert get_preset("slack").handshake(WebhookRequest.from_dict({}, b"{}"), callback) is None


def test_slack_ssl_check_handshake():
    body = parse_body(b"ssl_check=1&token=abc", "application/x-www-form-urlencoded")
    assert get_preset("slack").handshake(WebhookRequest.from_dict({}, b""), body) == HandshakeResponse(
        200, "text/plain", b""
    )


def test_twitch_challenge_handshake():
    body = {"challenge": "pogchamp-kappa-360noscope-vohiyo", "subscription": {"type": "channel.follow"}}
    request = WebhookRequest.from_dict({"Twitch-Eventsub-Message-Type": "webhook_callback_verification"}, b"")
    assert get_preset("twitch").handshake(request, body) == HandshakeResponse(
        200, "text/plain", b"pogchamp-kappa-360noscope-vohiyo"
    )
    notification = WebhookRequest.from_dict({"Twitch-Eventsub-Message-Type": "notification"}, b"")
    assert get_preset("twitch").handshake(notification, body) is None


def test_handshake_response_is_frozen():
    response = HandshakeResponse(200, "text/plain", b"x")
    with pytest.raises(AttributeError):
        response.status = 500  # type: ignore[misc]
