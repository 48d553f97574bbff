"""Publish rule files to the rules bucket: validate and run their tests first, then upload."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mapping.exceptions import RuleFileError
from mapping.ruleset import load_ruleset

__all__ = ["PublishError", "check_rules", "publish_rules"]


@dataclass
class PublishError(Exception):
    """A file failed validation or its tests; nothing was uploaded."""

    lines: list[str]

    def __str__(self) -> str:
        return "\n".join(self.lines)


def check_rules(paths: list[Path]) -> list[str]:
    """Every problem and failing test of `paths` as printable lines (empty when all are good)."""
    from mapping.testing import run_rule_tests

    lines: list[str] = []
    for path in paths:
        try:
            ruleset = load_ruleset(path)
        except RuleFileError as exc:
            lines += [str(problem) for problem in exc.problems]
            continue
        for outcome in run_rule_tests(ruleset):
            if not outcome.passed:
                lines.append(f"{path}: test {outcome.name!r} failed")
                lines += ["    " + detail for detail in outcome.details]
    return lines


def publish_rules(s3: Any, bucket: str, prefix: str, paths: list[Path], *, check: bool = True) -> dict[str, str | None]:
    """Upload every file (all or nothing: any problem stops before the first upload).

    Returns the S3 version id of each published source.

    Raises
    ------
    PublishError
        Listing every located problem and failing test.
    """
    paths = [Path(p) for p in paths]
    if check:
        problems = check_rules(paths)
        if problems:
            raise PublishError(problems)
    versions: dict[str, str | None] = {}
    for path in paths:
        content_type = "application/json" if path.suffix == ".json" else "application/yaml"
        response = s3.put_object(
            Bucket=bucket, Key=f"{prefix}{path.name}", Body=path.read_bytes(), ContentType=content_type
        )
        versions[path.stem] = response.get("VersionId")
    return versions
