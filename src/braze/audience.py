"""The Connected Audience grammar: one filter, or `{"AND": [...]}` / `{"OR": [...]}` of them."""

from __future__ import annotations

from typing import Any

__all__ = ["check_audience"]

_CUSTOM_ATTRIBUTE_COMPARISONS = {
    "equals", "not_equal", "matches_regex", "does_not_match_regex", "exists", "does_not_exist",
    "is_any_of", "is_none_of", "includes_value", "does_not_include_value", "greater_than",
    "greater_than_or_equal_to", "less_than", "less_than_or_equal_to", "less_than_x_days_ago",
    "greater_than_x_days_ago", "less_than_x_days_in_the_future", "greater_than_x_days_in_the_future",
    "after", "before",
}  # fmt: skip
_NO_VALUE = {"exists", "does_not_exist"}
_SUBSCRIPTION = ({"is", "is_not"}, {"opted_in", "subscribed", "unsubscribed"})


def check_audience(audience: Any, path: str = "audience") -> str | None:
    """Return the first grammar problem in a Connected Audience object, or None when it is valid."""
    if not isinstance(audience, dict) or len(audience) != 1:
        return f"{path} must be an object with exactly one key (a filter, AND or OR)"
    ((key, value),) = audience.items()
    if key in ("AND", "OR"):
        if not isinstance(value, list) or not value:
            return f"{path}.{key} must be a non-empty list"
        for index, item in enumerate(value):
            problem = check_audience(item, f"{path}.{key}[{index}]")
            if problem:
                return problem
        return None
    if not isinstance(value, dict):
        return f"{path}.{key} must be an object"
    checker = _FILTERS.get(key)
    if checker is None:
        return f"{path}: unknown filter {key!r} (custom_attribute, push_subscription_status, ...)"
    return checker(value, f"{path}.{key}")


def _custom_attribute(spec: dict[str, Any], path: str) -> str | None:
    name, comparison = spec.get("custom_attribute_name"), spec.get("comparison")
    if not isinstance(name, str) or not name:
        return f"{path}.custom_attribute_name is required"
    if comparison not in _CUSTOM_ATTRIBUTE_COMPARISONS:
        return f"{path}.comparison {comparison!r} is not a documented comparison"
    if comparison not in _NO_VALUE and "value" not in spec:
        return f"{path}.value is required for {comparison}"
    extra = set(spec) - {"custom_attribute_name", "comparison", "value"}
    return f"{path}: unknown keys {sorted(extra)}" if extra else None


def _subscription(spec: dict[str, Any], path: str) -> str | None:
    comparisons, values = _SUBSCRIPTION
    if spec.get("comparison") not in comparisons:
        return f"{path}.comparison must be one of {sorted(comparisons)}"
    if spec.get("value") not in values:
        return f"{path}.value must be one of {sorted(values)}"
    return None


def _last_used_app(spec: dict[str, Any], path: str) -> str | None:
    if spec.get("comparison") not in ("after", "before"):
        return f"{path}.comparison must be after or before"
    if not isinstance(spec.get("value"), str):
        return f"{path}.value must be an ISO 8601 datetime string"
    return None


_FILTERS = {
    "custom_attribute": _custom_attribute,
    "push_subscription_status": _subscription,
    "email_subscription_status": _subscription,
    "last_used_app": _last_used_app,
}
