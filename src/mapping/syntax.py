"""The `{% ... %}` convention, without loading the JSONata engine (ingress stays light)."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["DEFAULT_TIMEOUT_MS", "expression_source", "looks_like_partial_expression", "nondeterministic_functions"]

DEFAULT_TIMEOUT_MS = 100

_WHOLE = re.compile(r"\A\{%(.*)%\}\Z", re.DOTALL)
# Functions that evaluate, but differently on every run. (`$uuid()` does not exist here: validation
# reports it as an error with every other unknown function.)
_NONDETERMINISTIC = re.compile(r"\$(now|millis|random)\s*\(")


def expression_source(value: Any) -> str | None:
    """Return the JSONata text of a wholly `{% ... %}` string, else None (a literal)."""
    if isinstance(value, str):
        match = _WHOLE.match(value)
        if match:
            return match.group(1).strip()
    return None


def looks_like_partial_expression(value: Any) -> bool:
    """True for strings that contain `{%` but are not wholly an expression (a likely mistake)."""
    return isinstance(value, str) and "{%" in value and expression_source(value) is None


def nondeterministic_functions(source: str) -> list[str]:
    """Names of functions in `source` whose result changes between runs (`$now`, ...)."""
    return sorted({f"${name}" for name in _NONDETERMINISTIC.findall(source)})
