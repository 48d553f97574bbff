"""Find secret values, signatures and e-mail addresses in captured text (a plain helper module: no
__init__.py in this folder, like the other test folders).

A needle is looked for in the forms it could take once it has been written somewhere: as is, JSON
string-escaped (a log line is JSON, a PEM key's newlines become ``\\n``), URL-encoded, and for
values made of several parts (a PEM key, ``t=...,v1=<hex>``, ``v1,<b64> v1a,<b64>``) every long
enough part on its own, so a leaked digest is found even without its ``v1=`` in front.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

__all__ = ["EMAIL", "Leak", "Needles", "capture_all_logs", "emails_in", "find_leaks"]

# The same shape sources/redaction.py masks; kept separate so the test does not trust the code under test.
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
MIN_PART = 12  # shorter fragments (timestamps, "v1", "sha256") would match by chance
_SEPARATORS = re.compile(r"[\s,;]+")


def emails_in(data: bytes | str) -> set[str]:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return set(EMAIL.findall(text))


def variants(value: str) -> set[str]:
    """Every spelling of `value` a leak could take (see the module docstring)."""
    forms = {value}
    parts = _SEPARATORS.split(value)
    pieces = [line.strip() for line in value.splitlines()] + parts
    pieces += [part.split("=", 1)[1] for part in parts if "=" in part]  # t=..,v1=<hex>: the digest alone
    forms.update(piece for piece in pieces if len(piece) >= MIN_PART and not piece.startswith("-----"))
    forms.update({json.dumps(form)[1:-1] for form in list(forms)})
    forms.update({quote(form, safe="") for form in list(forms)})
    return {form for form in forms if len(form) >= MIN_PART or form == value}


@dataclass(frozen=True)
class Leak:
    kind: str  # secret | signature | authorization | email | canary
    label: str
    needle: str
    where: str
    context: str

    def __str__(self) -> str:
        return f"{self.kind} {self.label!r} in {self.where}: ...{self.context}..."


@dataclass
class Needles:
    """What must not show up, by kind; each value is searched in all its `variants`."""

    values: dict[str, dict[str, str]] = field(default_factory=dict)  # kind -> label -> value

    def add(self, kind: str, label: str, value: str | None) -> None:
        if value:
            self.values.setdefault(kind, {})[label] = value

    def add_all(self, kind: str, items: Mapping[str, str] | Iterable[str]) -> None:
        pairs = items.items() if isinstance(items, Mapping) else ((item, item) for item in items)
        for label, value in pairs:
            self.add(kind, label, value)

    def without(self, *kinds: str) -> Needles:
        return Needles({kind: dict(values) for kind, values in self.values.items() if kind not in kinds})

    def count(self, kind: str) -> int:
        return len(self.values.get(kind, {}))


def find_leaks(text: str, needles: Needles, where: str) -> list[Leak]:
    """Every needle (in any of its spellings) found in `text`; e-mail addresses case-insensitively."""
    found = []
    lowered = text.lower()
    for kind, values in needles.values.items():
        for label, value in values.items():
            for form in sorted(variants(value), key=len, reverse=True):
                haystack, needle = (lowered, form.lower()) if kind == "email" else (text, form)
                at = haystack.find(needle)
                if at >= 0:
                    context = text[max(0, at - 60) : at + len(form) + 20].replace("\n", "\\n")
                    found.append(Leak(kind, label, form, where, context))
                    break
    return found


# --- capturing every log channel --------------------------------------------------------------

PROJECT_LOGGERS = ("adapter", "braze", "mapping", "sources", "handlers", "aws_lambda_powertools")


class _EverythingFormatter(logging.Formatter):
    """Message, exception and every `extra` attribute: what a JSON log formatter would print."""

    _STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = {k: v for k, v in vars(record).items() if k not in self._STANDARD}
        return f"{line} {extras!r}" if extras else line


@contextlib.contextmanager
def capture_all_logs(level: int = logging.DEBUG):
    """Everything the handlers log at `level` (DEBUG: the most an operator can switch on), into a StringIO."""
    from aws_lambda_powertools.logging.filters import SuppressFilter

    from adapter.observability import SERVICE, logger

    tee = io.StringIO()
    previous_level = logger.log_level
    powertools_handlers = [h for h in logger.handlers if isinstance(h, logging.StreamHandler)]
    previous_streams = [h.setStream(tee) for h in powertools_handlers]
    capture = logging.StreamHandler(tee)
    capture.setLevel(level)
    capture.setFormatter(_EverythingFormatter("%(levelname)s %(name)s %(message)s"))
    capture.addFilter(SuppressFilter(SERVICE))  # what Powertools adds to Lambda's root handler
    levels = {name: logging.getLogger(name).level for name in PROJECT_LOGGERS}
    logger.setLevel(level)
    logging.getLogger().addHandler(capture)
    package = logging.getLogger("aws_lambda_powertools")  # propagate=False unless POWERTOOLS_DEBUG
    package.addHandler(capture)
    for name in PROJECT_LOGGERS:
        logging.getLogger(name).setLevel(level)
    try:
        with (
            contextlib.redirect_stdout(tee),
            contextlib.redirect_stderr(tee),
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.simplefilter("always")
            yield tee
        tee.write("".join(f"WARNING {w.category.__name__}: {w.message}\n" for w in caught))
    finally:
        logging.getLogger().removeHandler(capture)
        package.removeHandler(capture)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        logger.setLevel(previous_level)
        for handler, stream in zip(powertools_handlers, previous_streams, strict=True):
            handler.setStream(stream)
