"""JSONata expressions: the `{% ... %}` convention, compile once, a time box per evaluation.

The engine is jsonata-python (see docs/expression-engine.md for the comparison with jsonatapy).
Two of its behaviours are corrected here rather than worked around in every caller:

* its `timeout` is measured from *compile* time, so a cached expression would start failing
  100 ms after it was compiled; we attach a fresh time box to every evaluation instead;
* the time box reads the wall clock, so a trivial expression in a thread that waits for the CPU
  (a busy container, other threads holding the interpreter lock) "times out" and its event is
  dead-lettered; it measures the evaluating thread's CPU time instead, which only a runaway
  expression uses up;
* `$string()` and `&` format integers above 15 digits in exponent form (`8.2e+17`), which
  corrupts provider ids such as Shopify's; integers are printed exactly.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Mapping
from typing import Any

from jsonata import Jsonata
from jsonata.functions import Functions
from jsonata.jexception import JException
from jsonata.parser import Parser
from jsonata.timebox import Timebox
from jsonata.utils import Utils

from mapping.exceptions import ExpressionError
from mapping.syntax import (
    DEFAULT_TIMEOUT_MS,
    expression_source,
    looks_like_partial_expression,
    nondeterministic_functions,
)

__all__ = [
    "DEFAULT_TIMEOUT_MS",
    "Expression",
    "compile_expression",
    "expression_source",
    "looks_like_partial_expression",
    "nondeterministic_functions",
]

MAX_DEPTH = 200  # JSONata call depth, well below Python's own limit
_TIMED_OUT = "D1012"
_MAX_SAFE_INTEGER = 2**53
_BUILTINS = frozenset(Jsonata.static_frame.bindings)  # every function the library defines

_original_encode = Functions.Encoder.encode


def _encode_exact_integers(self: Any, arg: Any) -> str:
    if type(arg) is int:
        return str(arg)
    return _original_encode(self, arg)


Functions.Encoder.encode = _encode_exact_integers  # type: ignore[method-assign]
# The time box starts and checks on the evaluating thread (Expression.evaluate builds it there).
Timebox.current_milli_time = staticmethod(lambda: time.thread_time() * 1000)  # type: ignore[method-assign]


class Expression:
    """A compiled JSONata expression.

    Parameters
    ----------
    source:
        The JSONata text (without the `{% %}` delimiters).

    Raises
    ------
    ExpressionError
        If the text does not compile.

    Example
    -------
    >>> Expression("amount / 100").evaluate({"amount": 1250})
    12.5
    """

    __slots__ = ("source", "_compiled")

    def __init__(self, source: str) -> None:
        self.source = source
        if not source.strip():
            raise ExpressionError("empty expression", source)
        try:
            self._compiled = Jsonata(source)
        except JException as exc:
            raise ExpressionError(_describe(exc), source, code=exc.error) from None
        except KeyError as exc:  # the parser's operator-table lookup fails where it means S0204
            raise ExpressionError(f"unknown operator {exc.args[0]!r}", source, code="S0204") from None
        except Exception as exc:  # the parser raises bare Python errors on some other bad input
            raise ExpressionError(f"{type(exc).__name__}: {exc}", source) from None
        # Inputs are parsed JSON already; re-validating them costs ~200 us per evaluation.
        self._compiled.set_validate_input(False)

    def evaluate(
        self,
        data: Any,
        variables: Mapping[str, Any] | None = None,
        *,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
    ) -> Any:
        """Evaluate against `data` (bound to `$`) with extra `variables` (`$name`).

        Returns plain JSON values (dict, list, str, int, float, bool) or None for
        undefined/null. Integral floats below 2**53 come back as ints, as JSON printers do.

        Raises
        ------
        ExpressionError
            On a runtime error, a timeout, runaway recursion or a function-valued result.
        """
        try:
            try:
                result = self._evaluate_once(data, variables, timeout_ms)
            except JException as exc:
                if exc.error != _TIMED_OUT:
                    raise
                # A garbage-collection pass in this thread can use up the budget of a trivial
                # expression once; a runaway expression times out again.
                result = self._evaluate_once(data, variables, timeout_ms)
        except JException as exc:
            raise ExpressionError(_describe(exc, timeout_ms), self.source, code=exc.error) from None
        except RecursionError:
            raise ExpressionError("recursion too deep", self.source, code="D1011") from None
        except Exception as exc:  # the library raises bare Python errors on some bad inputs
            raise ExpressionError(f"failed: {type(exc).__name__}: {exc}", self.source) from None
        return _to_json(result, self.source)

    def _evaluate_once(self, data: Any, variables: Mapping[str, Any] | None, timeout_ms: int) -> Any:
        frame = Jsonata.Frame(None)
        frame.set_runtime_bounds(timeout_ms, MAX_DEPTH)
        for name, value in (variables or {}).items():
            frame.bind(name, value)
        return self._compiled.evaluate(data, frame)

    def unknown_functions(self) -> list[str]:
        """Names called as functions that are neither built in nor bound in the expression (`["$uuid"]`).

        Such a call fails every time evaluation reaches it ("Attempted to invoke a non-function"), e.g.
        the `$uuid()` of Step Functions, which this library does not have.
        """
        called: set[str] = set()
        bound: set[str] = set()
        for node in _nodes(self._compiled.ast):
            if node.type in ("function", "partial") and node.procedure.type == "variable":
                called.add(node.procedure.value)
            elif node.type == "apply" and node.rhs.type == "variable":  # `x ~> $f`
                called.add(node.rhs.value)
            elif node.type == "bind":  # `$f := ...`
                bound.add(node.lhs.value)
            elif node.type == "lambda":  # `function($f) { $f() }`
                bound.update(argument.value for argument in node.arguments)
        # Names are bound anywhere, not per scope: a rare false negative, never a false error.
        return sorted(f"${name}" for name in called - bound - _BUILTINS)

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"


@functools.lru_cache(maxsize=4096)
def compile_expression(source: str) -> Expression:
    """Compile `source` once; later calls with the same text return the cached expression."""
    return Expression(source)


def _nodes(root: Parser.Symbol) -> list[Parser.Symbol]:
    """Every node of a parsed expression, each once (the parent operator `%` links a node from two places)."""
    seen: dict[int, Parser.Symbol] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen[id(node)] = node
            stack.extend(_children(node))
    return list(seen.values())


def _children(node: Parser.Symbol) -> list[Parser.Symbol]:
    """Nodes held by `node`'s attributes, directly or in lists (object constructors hold lists of pairs)."""
    found = []
    pending = [value for key, value in vars(node).items() if key != "_outer_instance"]
    while pending:
        value = pending.pop()
        if isinstance(value, Parser.Symbol):
            found.append(value)
        elif isinstance(value, list | tuple):
            pending.extend(value)
    return found


def _describe(exc: JException, timeout_ms: int | None = None) -> str:
    code = getattr(exc, "error", None)
    if code == "D1012":
        return f"timed out after {timeout_ms} ms (runaway expression?)"
    if code == "D1011":
        return "recursion too deep (non-terminating recursive function?)"
    message = str(exc) or code or "error"
    location = getattr(exc, "location", None)
    if isinstance(location, int) and location >= 0 and "position" not in message:
        message = f"{message} (at character {location})"
    return message


def _to_json(value: Any, source: str) -> Any:
    """Turn the library's sequences, null marker and floats into plain JSON values."""
    if value is None or value is Utils.NULL_VALUE:
        return None
    if isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < _MAX_SAFE_INTEGER:
            return int(value)
        return value
    if isinstance(value, Mapping):
        return {str(k): _to_json(v, source) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_json(v, source) for v in value]
    raise ExpressionError(f"result is a {type(value).__name__}, not a JSON value", source)
