"""Templated JSON values: literals with `{% ... %}` expressions anywhere a value may stand.

Rendering follows the rule-file contract: an expression keeps its JSON type, a key whose value is
undefined or null is left out, and an object whose keys all vanished vanishes too (a literal `{}`
written in the rule stays). Keys are never expressions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mapping.exceptions import ExpressionError, MappingError
from mapping.paths import field_path
from mapping.syntax import DEFAULT_TIMEOUT_MS, expression_source

if TYPE_CHECKING:
    from mapping.expressions import Expression

__all__ = ["MISSING", "Template", "compile_template", "render"]


class _Missing:
    """The rendered value of something undefined or null: the caller leaves it out."""

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


@dataclass(frozen=True, slots=True)
class _Literal:
    value: Any


@dataclass(frozen=True, slots=True)
class _Expr:
    expression: Expression


@dataclass(frozen=True, slots=True)
class _Object:
    items: tuple[tuple[str, Template], ...]


@dataclass(frozen=True, slots=True)
class _Array:
    items: tuple[Template, ...]


Template = _Literal | _Expr | _Object | _Array


def compile_template(value: Any) -> Template:
    """Compile a rule-file value; expressions are compiled once and cached by text.

    Raises
    ------
    ExpressionError
        If an expression does not compile (validation reports these with their location first).
    """
    source = expression_source(value)
    if source is not None:
        from mapping.expressions import compile_expression  # JSONata loads only when a file uses it

        return _Expr(compile_expression(source))
    if isinstance(value, Mapping):
        return _Object(tuple((str(k), compile_template(v)) for k, v in value.items()))
    if isinstance(value, list):
        return _Array(tuple(compile_template(v) for v in value))
    return _Literal(value)


def render(
    template: Template,
    data: Any,
    variables: Mapping[str, Any],
    path: str,
    *,
    rule_id: str | None = None,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> Any:
    """Render `template` against the event `data`; returns MISSING for undefined/null.

    Raises
    ------
    MappingError
        When an expression fails, located at `path` (and below it) with the rule id.
    """
    if isinstance(template, _Literal):
        return MISSING if template.value is None else template.value
    if isinstance(template, _Expr):
        try:
            value = template.expression.evaluate(data, variables, timeout_ms=timeout_ms)
        except ExpressionError as exc:
            raise MappingError(f"expression {{% {exc.source} %}} {exc.message}", rule_id=rule_id, path=path) from None
        return MISSING if value is None else value
    if isinstance(template, _Object):
        rendered = {}
        for key, item in template.items:
            value = render(item, data, variables, field_path(path, key), rule_id=rule_id, timeout_ms=timeout_ms)
            if value is not MISSING:
                rendered[key] = value
        return MISSING if template.items and not rendered else rendered
    values = (
        render(item, data, variables, field_path(path, index), rule_id=rule_id, timeout_ms=timeout_ms)
        for index, item in enumerate(template.items)
    )
    return [value for value in values if value is not MISSING]
