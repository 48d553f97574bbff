from braze.batching import Destination, Send, build_requests
from braze.idempotency import canonical_json, custom_key, default_key, recipient_identifier
from braze.models import CAMPAIGN_PATH, CANVAS_PATH

DEFAULT = Destination()


def send(user, body=None, path=CAMPAIGN_PATH, destination=DEFAULT, key=None):
    recipient = None if user is None else {"external_user_id": user}
    return Send(
        path,
        body or {"campaign_id": "c1"},
        recipient,
        key or f"k-{user}-{id(body)}",
        "src",
        "r",
        "e",
        destination=destination,
    )


def sizes(requests):
    return [len(r.sends) for r in requests]


def test_fifty_one_recipients_make_two_requests():
    assert sizes(build_requests([send(str(i)) for i in range(51)])) == [50, 1]


def test_one_hundred_twenty_recipients_make_three_requests():
    requests = build_requests([send(str(i)) for i in range(120)])
    assert sizes(requests) == [50, 50, 20]
    assert [r["external_user_id"] for r in requests[0].body["recipients"]] == [str(i) for i in range(50)]


def test_one_thousand_recipients_of_one_campaign_make_twenty_requests():
    assert len(build_requests([send(str(i)) for i in range(1000)])) == 20


def test_different_top_level_bodies_split_and_keep_first_send_order():
    a, b = {"campaign_id": "a"}, {"campaign_id": "b"}
    requests = build_requests([send("1", a), send("2", b), send("3", a)])
    assert [r.body["campaign_id"] for r in requests] == ["a", "b"]
    assert [s.recipient["external_user_id"] for s in requests[0].sends] == ["1", "3"]


def test_top_level_properties_split_batches():
    p1 = {"campaign_id": "a", "trigger_properties": {"plan": "pro"}}
    p2 = {"campaign_id": "a", "trigger_properties": {"plan": "free"}}
    assert sizes(build_requests([send("1", p1), send("2", p2), send("3", dict(p1))])) == [2, 1]


def test_identical_bodies_with_different_key_order_share_a_request():
    assert sizes(
        build_requests(
            [send("1", {"campaign_id": "a", "send_id": "s"}), send("2", {"send_id": "s", "campaign_id": "a"})]
        )
    ) == [2]


def test_endpoint_path_and_destination_split():
    other = Destination("https://rest.fra-01.braze.eu", "env:EU_KEY")
    requests = build_requests(
        [send("1"), send("2", destination=other), send("3", path=CANVAS_PATH, body={"canvas_id": "k"})]
    )
    assert sizes(requests) == [1, 1, 1]


def test_broadcasts_are_never_merged():
    body = {"campaign_id": "c1", "broadcast": True}
    requests = build_requests([send(None, body, key="a"), send(None, body, key="b")])
    assert sizes(requests) == [1, 1]
    assert requests[0].body == body  # no recipients key on a broadcast


def test_same_recipient_twice_goes_to_separate_requests():
    # Braze collapses a repeated recipient within one request into one message.
    requests = build_requests([send("u1", key="a"), send("u2", key="b"), send("u1", key="c"), send("u3", key="d")])
    assert [[s.idempotency_key for s in r.sends] for r in requests] == [["a", "b", "d"], ["c"]]


def test_to_json_shape():
    request = build_requests([send("1", key="k1")])[0]
    assert request.to_json() == {
        "path": CAMPAIGN_PATH,
        "body": {"campaign_id": "c1", "recipients": [{"external_user_id": "1"}]},
        "idempotency_keys": ["k1"],
    }


def test_canonical_json_ignores_key_order_and_whitespace():
    assert canonical_json({"b": 1, "a": [1, {"d": 2, "c": 3}]}) == '{"a":[1,{"c":3,"d":2}],"b":1}'
    assert canonical_json({"é": "ü"}) == '{"é":"ü"}'


def test_default_key_depends_only_on_source_rule_event_and_identifier():
    base = default_key("stripe", "r1", "evt_1", {"external_user_id": "u1"})
    assert base == default_key("stripe", "r1", "evt_1", {"trigger_properties": {"x": 1}, "external_user_id": "u1"})
    assert len(base) == 64
    assert (
        len(
            {
                base,
                default_key("shopify", "r1", "evt_1", {"external_user_id": "u1"}),
                default_key("stripe", "r2", "evt_1", {"external_user_id": "u1"}),
                default_key("stripe", "r1", "evt_2", {"external_user_id": "u1"}),
                default_key("stripe", "r1", "evt_1", {"external_user_id": "u2"}),
                default_key("stripe", "r1", "evt_1", {"email": "u1"}),
                default_key("stripe", "r1", "evt_1", None),
            }
        )
        == 7
    )


def test_alias_identifier_key_is_order_independent():
    a = default_key("s", "r", "e", {"user_alias": {"alias_name": "n", "alias_label": "l"}})
    b = default_key("s", "r", "e", {"user_alias": {"alias_label": "l", "alias_name": "n"}})
    assert a == b


def test_recipient_identifier_and_custom_key():
    assert recipient_identifier({"email": "a@b", "prioritization": ["identified"]}) == {"email": "a@b"}
    assert recipient_identifier(None) is None
    assert custom_key("s", "r", {"b": 1, "a": 2}) == custom_key("s", "r", {"a": 2, "b": 1})
    assert custom_key("s", "r", "x") != custom_key("s", "r", "y")
    assert custom_key("s", "r1", "x") != custom_key("s", "r2", "x")  # scoped to its rule
    assert custom_key("s1", "r", "x") != custom_key("s2", "r", "x")
