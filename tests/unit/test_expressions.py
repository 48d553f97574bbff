import time

import pytest

from mapping.exceptions import ExpressionError
from mapping.expressions import (
    Expression,
    compile_expression,
    expression_source,
    looks_like_partial_expression,
    nondeterministic_functions,
)

SHOPIFY_ORDER_ID = 820982911946154508  # above 2**53: a float would corrupt it


@pytest.mark.parametrize(
    ("value", "source"),
    [
        ("{% a.b %}", "a.b"),
        ("{%a%}", "a"),
        ("{%\n  $x\n%}", "$x"),
        ("{% %}", ""),
        (" {% a %}", None),  # only a wholly-expression string is an expression
        ("{% a %} ", None),
        ("Hello {% a %}", None),
        ("plain", None),
        (42, None),
        (None, None),
    ],
)
def test_expression_source_only_accepts_whole_strings(value, source):
    assert expression_source(value) == source


def test_partial_expression_is_detected_for_warnings():
    assert looks_like_partial_expression("Hi {% name %}")
    assert not looks_like_partial_expression("{% name %}")
    assert not looks_like_partial_expression("no braces")


def test_numbers_stay_numbers_and_zero_false_survive():
    data = {"amount": 1250, "zero": 0, "no": False, "ratio": 0.5}
    assert Expression("amount / 100").evaluate(data) == 12.5
    assert Expression("amount").evaluate(data) == 1250
    assert type(Expression("amount * 2").evaluate(data)) is int
    assert Expression("zero").evaluate(data) == 0
    assert Expression("no").evaluate(data) is False
    assert Expression("ratio").evaluate(data) == 0.5


def test_integral_division_results_are_ints():
    assert type(Expression("2000 / 100").evaluate({})) is int


def test_big_integers_pass_through_exactly():
    data = {"id": SHOPIFY_ORDER_ID}
    assert Expression("id").evaluate(data) == SHOPIFY_ORDER_ID
    assert Expression("$string(id)").evaluate(data) == str(SHOPIFY_ORDER_ID)
    assert Expression("'#' & id").evaluate(data) == f"#{SHOPIFY_ORDER_ID}"
    assert Expression("{'order': id}").evaluate(data) == {"order": SHOPIFY_ORDER_ID}


def test_string_of_floats_keeps_jsonata_formatting():
    assert Expression("$string(12.5)").evaluate({}) == "12.5"
    assert Expression("$string(big)").evaluate({"big": 1e21}) == "1e+21"


def test_undefined_and_null_both_come_back_as_none():
    assert Expression("missing.path").evaluate({"a": 1}) is None
    assert Expression("a").evaluate({"a": None}) is None


def test_objects_built_in_expressions_omit_undefined_keys():
    assert Expression("{'a': missing, 'b': 0, 'c': false}").evaluate({}) == {"b": 0, "c": False}


def test_sequences_become_plain_lists():
    result = Expression("items.sku").evaluate({"items": [{"sku": "a"}, {"sku": "b"}]})
    assert result == ["a", "b"] and type(result) is list


def test_array_of_one_is_a_single_value_unless_constructed():
    data = {"items": [{"sku": "a"}]}
    assert Expression("items.sku").evaluate(data) == "a"
    assert Expression("[items.sku]").evaluate(data) == ["a"]


def test_variables_are_bound():
    assert Expression("$item.sku & '-' & $index").evaluate({}, {"item": {"sku": "A"}, "index": 2}) == "A-2"
    assert Expression("$headers.'x-shop'").evaluate({}, {"headers": {"x-shop": "s1"}}) == "s1"


def test_syntax_error_is_an_expression_error_with_position():
    with pytest.raises(ExpressionError) as info:
        Expression("a +")
    assert info.value.code == "S0207"
    assert "character" in info.value.message


def test_empty_expression_is_rejected():
    with pytest.raises(ExpressionError, match="empty expression"):
        Expression("   ")


def test_unknown_function_fails_at_evaluation():
    with pytest.raises(ExpressionError) as info:
        Expression("$nope(1)").evaluate({})
    assert info.value.code == "T1006"


def test_runaway_recursion_is_time_boxed():
    expression = Expression("($f := function($n){ $n > 0 ? $f($n) : 0 }; [1..100000].($f(1)))")
    started = time.monotonic()
    with pytest.raises(ExpressionError, match="timed out after 50 ms"):
        expression.evaluate({}, timeout_ms=50)
    assert time.monotonic() - started < 2


def test_deep_recursion_is_stopped():
    with pytest.raises(ExpressionError, match="recursion too deep"):
        Expression("($f := function($n){ $f($n+1) + 1 }; $f(0))").evaluate({})


def test_time_box_is_per_evaluation_not_per_compile():
    # The library measures its timeout from compile time; ours must restart for every evaluation.
    expression = Expression("a + 1")
    time.sleep(0.15)
    assert expression.evaluate({"a": 1}, timeout_ms=100) == 2


def test_time_box_counts_the_expression_s_own_cpu_time_not_the_wall_clock(monkeypatch):
    # A thread waiting for the CPU (a busy container, other threads holding the interpreter lock) or
    # a clock step must not make a trivial expression "time out" and dead-letter its event.
    wall = iter(range(0, 10**9, 1000))
    monkeypatch.setattr(time, "time", lambda: float(next(wall)))  # a second passes at every look
    assert Expression("a + 1").evaluate({"a": 1}, timeout_ms=100) == 2


def test_a_pause_that_eats_the_budget_once_does_not_fail_the_evaluation(monkeypatch):
    # A garbage-collection pass runs in the thread that triggered it and counts as its CPU time.
    expression = Expression("a + 1")
    real, calls = time.thread_time, iter(range(10**6))
    # The clock jumps 5 s right after the first evaluation's time box starts, and then runs on.
    monkeypatch.setattr(time, "thread_time", lambda: real() + (5.0 if next(calls) > 0 else 0.0))
    assert expression.evaluate({"a": 1}, timeout_ms=100) == 2


def test_function_results_are_rejected():
    with pytest.raises(ExpressionError, match="not a JSON value"):
        Expression("function($x){ $x }").evaluate({})


def test_compile_cache_returns_the_same_object():
    assert compile_expression("a.b.c") is compile_expression("a.b.c")


def test_nondeterministic_functions_are_listed():
    # $uuid() is not listed: it does not evaluate at all (see unknown_functions).
    assert nondeterministic_functions("$now() & $random() & $millis() & $uuid()") == ["$millis", "$now", "$random"]
    assert nondeterministic_functions("$nowhere & $string(x)") == []


@pytest.mark.parametrize(
    ("source", "unknown"),
    [
        ("$uuid()", ["$uuid"]),
        ("$now() & $millis() & $random()", []),
        ("$string($partition([1], 1))", ["$partition"]),
        ("'a' ~> $uuid()", ["$uuid"]),
        ("'a' ~> $nosuch", ["$nosuch"]),
        ("'a' ~> $uppercase", []),
        ("$headers()", ["$headers"]),  # a variable, but not a function
        ("{'k': $q(1)}", ["$q"]),
        ("($f := function($x) { $x + 1 }; $f(1))", []),
        ("($f := $uppercase; $f('a'))", []),
        ("$map([1], function($g) { $g })", []),
        ("'$uuid() in a string'", []),
    ],
)
def test_unknown_functions_are_exactly_the_calls_that_fail(source, unknown):
    expression = Expression(source)
    assert expression.unknown_functions() == unknown
    try:
        expression.evaluate({}, {"headers": {}})
    except ExpressionError as exc:
        assert unknown and ("non-function" in exc.message or "must be a function" in exc.message)
    else:
        assert not unknown
