"""Errors raised by the ``sources`` package.

Messages are safe to log and to return to the caller: they never contain a
secret, a signature value or any part of the request body.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "BodyError",
    "PresetOptionsError",
    "SIGNATURE_REASONS",
    "SignatureError",
    "UnknownPresetError",
]

# The machine-readable reasons; handlers and metrics switch on these, so the
# set is closed and every SignatureError carries exactly one of them.
SIGNATURE_REASONS: dict[str, str] = {
    "missing_signature": "the request carries no signature",
    "malformed_signature": "the signature header cannot be parsed",
    "bad_signature": "no signature matches any configured secret",
    "missing_timestamp": "the request carries no signed timestamp",
    "stale_timestamp": "the signed timestamp is outside the allowed window",
    "no_secret": "no usable secret is configured for this source",
}


class SignatureError(Exception):
    """The webhook's signature could not be verified.

    Parameters
    ----------
    reason : str
        One of the keys of ``SIGNATURE_REASONS``.
    message : str, optional
        A short human sentence; defaults to the generic text for ``reason``.
        Callers must never put secrets, signatures or body bytes in it.
    """

    def __init__(self, reason: str, message: str | None = None) -> None:
        if reason not in SIGNATURE_REASONS:
            raise ValueError(f"unknown signature error reason {reason!r}")
        self.reason = reason
        self.message = message or SIGNATURE_REASONS[reason].capitalize()
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class BodyError(Exception):
    """The request body cannot be turned into an event.

    Parameters
    ----------
    status : int
        The HTTP status to answer with: 400 for a malformed body, 415 for an
        unsupported content type or charset.
    message : str
        What is wrong and where (line/column for JSON); never the body itself.
    """

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        return self.message


class UnknownPresetError(KeyError):
    """No verification preset has the requested name."""

    def __init__(self, name: str, known: Iterable[str] = ()) -> None:
        self.name = name
        known_list = ", ".join(known)
        self.message = f"unknown verification preset {name!r}" + (
            f"; known presets: {known_list}" if known_list else ""
        )
        super().__init__(self.message)

    def __str__(self) -> str:
        # KeyError.__str__ would repr() the message and wrap it in quotes.
        return self.message


class PresetOptionsError(ValueError):
    """A preset was given options it cannot work with (a configuration error).

    Parameters
    ----------
    preset : str
        The preset name.
    problems : list of (str, str)
        ``(option_name, problem)`` pairs as returned by ``Preset.check_options``.
    """

    def __init__(self, preset: str, problems: list[tuple[str, str]]) -> None:
        self.preset = preset
        self.problems = list(problems)
        detail = "; ".join(f"{name}: {problem}" for name, problem in self.problems)
        super().__init__(f"invalid options for preset {preset!r}: {detail}")
