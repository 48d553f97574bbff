import pytest

from mapping.exceptions import MappingError
from mapping.templates import MISSING, compile_template, render


def _render(value, data, variables=None, path="rules[0].campaign"):
    return render(compile_template(value), data, variables or {}, path, rule_id="r1")


def test_literals_pass_through():
    assert _render({"a": 1, "b": [True, "x"], "c": 0, "d": False}, {}) == {"a": 1, "b": [True, "x"], "c": 0, "d": False}


def test_expression_keeps_its_json_type():
    data = {"n": 5, "f": 1.5, "b": False, "o": {"k": [1]}, "s": "x"}
    template = {k: f"{{% {k} %}}" for k in data}
    assert _render(template, data) == data


def test_undefined_and_null_keys_are_dropped():
    assert _render({"a": "{% missing %}", "b": "{% nul %}", "c": None, "d": 0}, {"nul": None}) == {"d": 0}


def test_object_whose_keys_all_vanish_vanishes():
    assert _render({"props": {"a": "{% missing %}"}, "x": 1}, {}) == {"x": 1}
    assert _render({"a": "{% missing %}"}, {}) is MISSING


def test_literal_empty_object_stays():
    assert _render({"props": {}}, {}) == {"props": {}}


def test_undefined_items_are_dropped_from_lists():
    assert _render(["{% a %}", "{% missing %}", 3], {"a": 1}) == [1, 3]


def test_keys_are_never_expressions():
    assert _render({"{% a %}": 1}, {"a": "k"}) == {"{% a %}": 1}


def test_partial_expression_string_is_literal():
    assert _render("Hi {% name %}", {"name": "x"}) == "Hi {% name %}"


def test_errors_are_located_at_the_field():
    with pytest.raises(MappingError) as info:
        _render({"trigger_properties": {"plan": "{% $nope() %}"}}, {})
    assert info.value.path == "rules[0].campaign.trigger_properties.plan"
    assert info.value.rule_id == "r1"
    assert "$nope" in info.value.message


def test_errors_in_lists_name_the_index():
    with pytest.raises(MappingError) as info:
        _render({"attachments": [{"url": "ok"}, {"url": "{% $nope() %}"}]}, {})
    assert info.value.path == "rules[0].campaign.attachments[1].url"
