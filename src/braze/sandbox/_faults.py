"""Fault injection: which misbehaviour (if any) the next request gets.

Precedence per request: the deterministic `script` first, then the `rate_limit_burst` counter,
then one draw from `random.Random(seed)` split into bands by the rates. Exactly one random draw
per non-scripted request (two for a 5xx, to pick the status) keeps seeded runs reproducible
whatever the requests contain. Not thread-safe on its own: used under the sandbox state lock.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

SERVER_ERROR_STATUSES = (500, 502, 503, 504)
# Names accepted in `script`, and the values of an attempt's "fault".
FAULT_NAMES = ("ok", "500", "502", "503", "504", "429", "slow", "reset_before", "reset_after")
_RATES = ("error_rate", "reset_before_rate", "slow_rate", "reset_after_rate")


@dataclass
class Faults:
    """The fault settings; field names are the keyword/JSON names everywhere (constructor, set_faults, admin API)."""

    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = SERVER_ERROR_STATUSES
    rate_limit_burst: int = 0
    burst_reset_seconds: float = 5.0
    slow_rate: float = 0.0
    slow_seconds: float = 2.0
    reset_before_rate: float = 0.0
    reset_after_rate: float = 0.0
    script: tuple[str, ...] = field(default_factory=tuple)

    def updated(self, **changes: Any) -> Faults:
        """A validated copy with `changes` applied; raises ValueError naming the bad option."""
        names = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ValueError(f"unknown fault option(s): {', '.join(unknown)}")
        coerced = {name: _coerce(name, value) for name, value in changes.items()}
        new = replace(self, **coerced)
        new._validate()
        return new

    def _validate(self) -> None:
        for name in _RATES:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if sum(getattr(self, name) for name in _RATES) > 1.0 + 1e-9:
            raise ValueError("error_rate + reset_before_rate + slow_rate + reset_after_rate must not exceed 1")
        if self.rate_limit_burst < 0 or self.burst_reset_seconds < 0 or self.slow_seconds < 0:
            raise ValueError("rate_limit_burst, burst_reset_seconds and slow_seconds must be >= 0")
        if not self.error_statuses or any(status not in SERVER_ERROR_STATUSES for status in self.error_statuses):
            raise ValueError(f"error_statuses must be a non-empty subset of {list(SERVER_ERROR_STATUSES)}")
        bad = [name for name in self.script if name not in FAULT_NAMES]
        if bad:
            raise ValueError(f"unknown script fault(s) {bad}; valid: {list(FAULT_NAMES)}")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["error_statuses"] = list(self.error_statuses)
        data["script"] = list(self.script)
        return data


def _coerce(name: str, value: Any) -> Any:
    # JSON and argparse hand us lists and ints where the dataclass wants tuples and floats.
    if name in ("script", "error_statuses"):
        if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
            raise ValueError(f"{name} must be a list")
        return tuple(str(v) for v in value) if name == "script" else tuple(int(v) for v in value)
    if name == "rate_limit_burst":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("rate_limit_burst must be an integer")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number")
    return float(value)


class FaultPlan:
    """Live fault state: settings plus what is left of the script and the burst."""

    def __init__(self, faults: Faults, seed: int | None) -> None:
        self._seed = seed
        self._rng = random.Random(seed)
        self.settings = faults
        self._script: deque[str] = deque(faults.script)
        self._burst_left = faults.rate_limit_burst

    def install(self, faults: Faults) -> None:
        """Replace every setting, including what is pending of the script and the burst."""
        self.settings = faults
        self._script = deque(faults.script)
        self._burst_left = faults.rate_limit_burst

    def update(self, **changes: Any) -> None:
        """Partial update; options not named keep their value, and the pending script/burst
        (not the original ones) are kept unless named. Raises ValueError, changing nothing."""
        current = replace(self.settings, script=tuple(self._script), rate_limit_burst=self._burst_left)
        self.install(current.updated(**changes))

    def reseed(self) -> None:
        self._rng = random.Random(self._seed)

    def draw(self) -> str:
        """Consume and return the fault name for the next request (one of FAULT_NAMES)."""
        if self._script:
            return self._script.popleft()
        if self._burst_left > 0:
            self._burst_left -= 1
            return "429"
        return self._draw_random()

    def _draw_random(self) -> str:
        point = self._rng.random()
        for rate_name, fault in zip(_RATES, ("error", "reset_before", "slow", "reset_after"), strict=True):
            rate = getattr(self.settings, rate_name)
            if point < rate:
                return str(self._rng.choice(self.settings.error_statuses)) if fault == "error" else fault
            point -= rate
        return "ok"

    def to_json(self) -> dict[str, Any]:
        data = self.settings.to_json()
        # Report what is *pending*, so a test can see its script being consumed.
        data["script"] = list(self._script)
        data["rate_limit_burst"] = self._burst_left
        return data
