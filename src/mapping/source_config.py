"""What ingress needs from a rule file (how to verify, how to derive the event id and type),
read without the pydantic models or the mapping engine so ingress starts fast.

Dispatch validates the whole file; here only the parts ingress uses are checked, with the same
located messages (`rules/stripe.yaml:4: verify.preset: unknown preset ...`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from mapping.exceptions import Problem, RuleFileError
from mapping.loader import parse_document
from mapping.paths import Loc, format_loc
from mapping.syntax import expression_source
from mapping.templates import Template, compile_template

__all__ = ["SECRET_REF_PATTERN", "SourceConfig", "check_verify", "parse_source_config"]

SECRET_REF_PATTERN = (
    r"^(secretsmanager:[A-Za-z0-9/_+=.@-]+(#[A-Za-z0-9_.-]+)?|ssm:/[A-Za-z0-9/_.-]+|env:[A-Za-z_][A-Za-z0-9_]*)$"
)
_SECRET_REF = re.compile(SECRET_REF_PATTERN)
_VERIFY_KEYS = ("preset", "secrets", "tolerance_seconds")


@dataclass(frozen=True)
class SourceConfig:
    source: str
    preset: str
    secrets: tuple[str, ...]
    tolerance: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    event_id: Template | None = None
    event_type: Template | None = None
    version: str | None = None


def check_verify(verify: Any, add: Callable[..., None]) -> None:
    """Report every problem of a `verify:` block through `add(loc, message, severity="error")`."""
    from sources.exceptions import UnknownPresetError
    from sources.presets import PRESET_NAMES, get_preset

    if not isinstance(verify, dict) or not isinstance(verify.get("preset"), str):
        return
    try:
        preset = get_preset(verify["preset"])
    except UnknownPresetError:
        add(("verify", "preset"), f"unknown preset {verify['preset']!r}; expected one of: {', '.join(PRESET_NAMES)}")
        return
    secrets = verify.get("secrets") or []
    if preset.needs_secret and not secrets:
        add(("verify", "secrets"), f"preset {preset.name} needs at least one secret reference")
    if not preset.needs_secret and secrets:
        add(("verify", "secrets"), "preset none takes no secrets")
    options = {k: v for k, v in verify.items() if k not in _VERIFY_KEYS}
    for option, problem in preset.check_options(options):
        add(("verify", option), problem)
    for option, warning in preset.option_warnings(options):
        add(("verify", option), warning, "warning")


def parse_source_config(text: str, name: str, version: str | None = None) -> SourceConfig:
    """Read the ingress view of a rule file.

    Raises
    ------
    RuleFileError
        With located problems in `source`, `verify`, `event_id` or `event_type`.
    """
    document = parse_document(text, name)
    data = document.data
    problems = list(document.problems)

    def add(loc: Loc, message: str, severity: str = "error") -> None:
        problems.append(Problem(name, document.line_of(loc), format_loc(loc), message, severity))

    if not isinstance(data, dict):
        raise RuleFileError([Problem(name, 1, "", "a rule file must be a mapping with version, source, rules")])
    source = data.get("source")
    if source != PurePosixPath(name).stem:
        add(("source",), f"source {source!r} must equal the file name ({PurePosixPath(name).stem!r})")
    verify = data.get("verify")
    if not isinstance(verify, dict) or not isinstance(verify.get("preset"), str):
        add(("verify",), "verify.preset is required (use preset: none to accept unsigned requests)")
        verify = {}
    check_verify(verify, add)
    secrets = verify.get("secrets") or []
    for index, reference in enumerate(secrets if isinstance(secrets, list) else [secrets]):
        if not isinstance(reference, str) or not _SECRET_REF.match(reference):
            add(("verify", "secrets", index), "must be a secret reference (secretsmanager:, ssm: or env:)")
    tolerance = verify.get("tolerance_seconds")
    if tolerance is not None and (not isinstance(tolerance, int) or isinstance(tolerance, bool) or tolerance <= 0):
        add(("verify", "tolerance_seconds"), "must be a positive whole number of seconds")
    templates = {}
    for key in ("event_id", "event_type"):
        templates[key] = _template(data.get(key), key, add)
    if any(p.severity == "error" for p in problems):
        raise RuleFileError(problems)
    return SourceConfig(
        source=source,
        preset=verify["preset"],
        secrets=tuple(secrets),
        tolerance=tolerance,
        options={k: v for k, v in verify.items() if k not in _VERIFY_KEYS},
        event_id=templates["event_id"],
        event_type=templates["event_type"],
        version=version,
    )


def _template(value: Any, key: str, add: Callable[..., None]) -> Template | None:
    if value is None:
        return None
    if not isinstance(value, str):
        add((key,), "must be a string or a {% expression %}")
        return None
    if expression_source(value) is None:
        return compile_template(value)
    from mapping.exceptions import ExpressionError

    try:
        return compile_template(value)
    except ExpressionError as exc:
        add((key,), f"expression does not compile: {exc.message}")
        return None
