"""Errors raised while loading rule files and mapping events."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sources.redaction import mask_email

__all__ = ["ExpressionError", "MappingError", "Problem", "RuleFileError"]


class ExpressionError(Exception):
    """A JSONata expression failed to compile or to evaluate."""

    def __init__(self, message: str, source: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.code = code


class MappingError(Exception):
    """One rule could not turn one event into a valid Braze send.

    `path` is the rule-file field path (`rules[2].campaign.recipient.external_user_id`).
    """

    def __init__(self, message: str, *, rule_id: str | None = None, path: str | None = None) -> None:
        # The message reaches dead-letter attributes and logs. Ours never quote event values, but JSONata's
        # errors quote operands ("The values ada@example.com and 5 either side of operator >..."): mask addresses.
        message = mask_email(message)
        super().__init__(message)
        self.message = message
        self.rule_id = rule_id
        self.path = path

    def __str__(self) -> str:
        where = " ".join(part for part in (f"rule {self.rule_id}" if self.rule_id else "", self.path or "") if part)
        return f"{where}: {self.message}" if where else self.message


# What str.splitlines() splits on: none of it may appear in a printed problem.
_LINE_BREAKS = re.compile(r"[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")


@dataclass(frozen=True)
class Problem:
    """A located problem in a rule file: `FILE:LINE: path: message`."""

    file: str
    line: int
    path: str
    message: str
    severity: str = "error"  # or "warning"

    def __str__(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        location = f"{self.path}: " if self.path else ""
        # Messages quote the user's text (expression tokens, file names); one problem stays one line.
        message = _LINE_BREAKS.sub(lambda m: repr(m.group())[1:-1], self.message)
        return f"{self.file}:{self.line}: {location}{prefix}{message}"


class RuleFileError(Exception):
    """A rule file is invalid; `problems` lists every error found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = [p for p in problems if p.severity == "error"]
        super().__init__("\n".join(str(p) for p in self.problems))
