"""Resolve secret references (`secretsmanager:NAME[#key]`, `ssm:/path`, `env:VAR`) with Powertools
Parameters, which caches values for `max_age` seconds per Lambda container."""

from __future__ import annotations

import json
import os
import re

__all__ = ["SecretError", "resolve_secret"]

_REFERENCE = re.compile(r"^(?P<kind>secretsmanager|ssm|env):(?P<name>[^#]+)(?:#(?P<field>.+))?$")


class SecretError(Exception):
    """A secret reference could not be resolved (never carries the secret's value)."""


def resolve_secret(reference: str, *, max_age: int = 300, force_fetch: bool = False) -> str:
    """The value a secret reference points to.

    Raises
    ------
    SecretError
        For a malformed reference, a missing secret or JSON key, or an AWS error.
    """
    match = _REFERENCE.match(reference)
    if not match:
        raise SecretError(f"not a secret reference: {reference.split(':')[0]}:...")
    kind, name, field = match["kind"], match["name"], match["field"]
    if kind == "env":
        value = os.environ.get(name)
        if value is None:
            raise SecretError(f"environment variable {name} is not set")
        return value
    from aws_lambda_powertools.utilities import parameters

    try:
        if kind == "ssm":
            value = parameters.get_parameter(name, decrypt=True, max_age=max_age, force_fetch=force_fetch)
        else:
            value = parameters.get_secret(name, max_age=max_age, force_fetch=force_fetch)
    except parameters.exceptions.GetParameterError as exc:
        raise SecretError(f"cannot read {kind}:{name}: {exc}") from None
    if isinstance(value, bytes):
        value = value.decode()
    if field is None:
        return str(value)
    try:
        return str(json.loads(value)[field])
    except (ValueError, KeyError, TypeError):
        raise SecretError(f"{kind}:{name} has no JSON key {field!r}") from None
