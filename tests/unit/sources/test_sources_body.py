"""parse_body: JSON and form bodies, and every way they can be refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sources_testkit import data_bytes

from sources.body import MAX_DEPTH, parse_body, parse_content_type
from sources.exceptions import BodyError

FORM = "application/x-www-form-urlencoded"


def _error(raw: bytes, content_type: str | None) -> BodyError:
    with pytest.raises(BodyError) as err:
        parse_body(raw, content_type)
    return err.value


@pytest.mark.parametrize(
    "content_type",
    [None, "", "application/json", "Application/JSON; charset=utf-8", "text/json", "application/vnd.api+json",
     "application/cloudevents+json; charset=UTF-8"],
)  # fmt: skip
def test_json_content_types(content_type):
    assert parse_body(b'{"a": [1, "x", null, true]}', content_type) == {"a": [1, "x", None, True]}


def test_any_json_value_is_accepted():
    assert parse_body(b'[{"e":1}]', "application/json") == [{"e": 1}]
    assert parse_body(b'"text"', None) == "text"
    assert parse_body(b"42", None) == 42


def test_big_integers_stay_exact():
    value = parse_body(b'{"id": 820982911946154508, "huge": 123456789012345678901234567890}', None)
    assert value["id"] == 820982911946154508 and isinstance(value["id"], int)
    assert value["huge"] == 123456789012345678901234567890
    order = parse_body(data_bytes("webhooks/shopify/orders.create.test-notification.json"), "application/json")
    assert order["id"] == 820982911946154508


def test_form_with_repeated_fields():
    raw = b"MediaUrl=a&From=%2B1415&MediaUrl=b&Body=hi+there&MediaUrl=c&Empty="
    assert parse_body(raw, FORM) == {"MediaUrl": ["a", "b", "c"], "From": "+1415", "Body": "hi there", "Empty": ""}
    assert parse_body(b"", FORM) == {}


def test_form_charset():
    assert parse_body(b"name=%DCber", FORM + "; charset=iso-8859-1") == {"name": "Über"}
    assert parse_body(b"name=%C3%9Cber", FORM) == {"name": "Über"}
    err = _error(b"name=%DCber", FORM)
    assert err.status == 400 and "utf-8" in str(err)


def test_json_charset():
    assert parse_body('{"n": "Ü"}'.encode("utf-16"), "application/json; charset=utf-16") == {"n": "Ü"}
    assert parse_body('{"n": "Ü"}'.encode("latin-1"), 'application/json; charset="ISO-8859-1"') == {"n": "Ü"}
    assert parse_body(b'\xef\xbb\xbf{"bom": 1}', "application/json") == {"bom": 1}


def test_unknown_charset_is_415():
    err = _error(b"{}", "application/json; charset=klingon")
    assert err.status == 415 and "klingon" in str(err)


def test_non_utf8_json_is_400_with_offset():
    err = _error(b'{"a": "\xff"}', "application/json")
    assert err.status == 400
    assert str(err) == "body is not valid utf-8: invalid byte at offset 7"


def test_malformed_json_is_located():
    err = _error(b'{\n  "a": 1,\n  "b" 2\n}', "application/json")
    assert err.status == 400
    assert str(err) == "malformed JSON body: Expecting ':' delimiter at line 3, column 7"


def test_empty_json_body_is_400():
    err = _error(b"", None)
    assert (err.status, str(err)) == (400, "malformed JSON body: the body is empty")


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_are_refused(literal):
    # The "NaN" inside a string on line 1 must not be the one reported.
    err = _error(b'{"s": "NaN",\n "v": ' + literal + b"}", None)
    assert err.status == 400
    assert str(err) == "malformed JSON body: NaN and Infinity are not JSON at line 2, column 7"


def test_nesting_too_deep_is_refused():
    ok = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert parse_body(ok, None) is not None
    deep = b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1)
    err = _error(deep, None)
    assert err.status == 400
    assert str(err) == f"malformed JSON body: nested deeper than {MAX_DEPTH} levels at line 1, column {MAX_DEPTH + 1}"
    # Deep enough to exhaust the parser's own recursion: still a clean 400, not a crash.
    very_deep = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    assert _error(very_deep, None).status == 400


def test_too_many_digits_is_400():
    err = _error(b"1" * 5000, None)
    assert err.status == 400 and str(err).startswith("malformed JSON body:")


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data; boundary=x", "application/xml", "text/xml", "application/octet-stream", "text/plain",
     "text/html"],
)  # fmt: skip
def test_unsupported_content_types_are_415(content_type):
    err = _error(b"<a/>", content_type)
    assert err.status == 415
    assert content_type.split(";")[0] in str(err)


def test_errors_do_not_echo_the_body():
    secret_looking = b'{"password": "hunter2-CANARY", "x": tru}'
    assert "CANARY" not in str(_error(secret_looking, None))


def test_parse_content_type():
    assert parse_content_type('Application/JSON; Charset="UTF-8"; foo') == ("application/json", {"charset": "UTF-8"})
    assert parse_content_type(None) == (None, {})
    assert parse_content_type("  ") == (None, {})


@given(st.lists(st.tuples(st.text(min_size=1), st.text()), max_size=8))
def test_form_round_trip(pairs):
    from urllib.parse import urlencode

    parsed = parse_body(urlencode(pairs).encode(), FORM)
    expected: dict = {}
    for name, value in pairs:
        expected.setdefault(name, []).append(value)
    assert parsed == {k: v[0] if len(v) == 1 else v for k, v in expected.items()}


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=20,
    )
)
def test_json_round_trip(value):
    import json

    assert parse_body(json.dumps(value).encode(), "application/json") == value
