"""A fixed-window request counter aligned to the clock, like Braze's limits (S9).

Braze: "Rate limits reset on the clock hour, not on a rolling window". With the default
3600-second window the windows here start on the hour (epoch multiples of 3600 are hour
boundaries in UTC); smaller windows are aligned to multiples of their own length.
Not thread-safe on its own: the sandbox calls it under its state lock.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RateState:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # UTC epoch seconds of the end of the current window

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


class ClockWindowLimiter:
    def __init__(self, limit: int, window_seconds: float, clock: Callable[[], float]) -> None:
        if limit < 0 or window_seconds <= 0:
            raise ValueError("rate_limit must be >= 0 and rate_window_seconds > 0")
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._window_start = -1.0
        self._used = 0

    def _roll(self) -> float:
        window_start = math.floor(self._clock() / self.window_seconds) * self.window_seconds
        if window_start != self._window_start:
            self._window_start = window_start
            self._used = 0
        return window_start

    def _state(self, allowed: bool) -> RateState:
        reset = math.ceil(self._window_start + self.window_seconds)
        return RateState(allowed, self.limit, max(self.limit - self._used, 0), reset)

    def consume(self) -> RateState:
        """Count one request; a refused request does not use up quota."""
        self._roll()
        if self._used >= self.limit:
            return self._state(allowed=False)
        self._used += 1
        return self._state(allowed=True)

    def peek(self) -> RateState:
        """Current state without counting (for responses that never reach the limiter)."""
        self._roll()
        return self._state(allowed=self._used < self.limit)

    def reset(self) -> None:
        self._window_start = -1.0
        self._used = 0
