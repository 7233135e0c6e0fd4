"""Retry delays: exponential, capped, with jitter from a seeded RNG, and never shorter than
the server's `Retry-After`. Pure: the caller sleeps."""

from __future__ import annotations

import random
from typing import Final

# A Retry-After beyond this is a broken header, not a plan: it is cut to it.
MAX_RETRY_AFTER_S: Final = 300.0


class Backoff:
    def __init__(self, rng: random.Random, base_s: float, cap_s: float) -> None:
        self.rng = rng
        self.base_s = base_s
        self.cap_s = max(cap_s, base_s)
        self.failures = 0

    def next(self, retry_after: float | None = None) -> float:
        """The delay before the next attempt. "Equal jitter": between half and all of
        base x 2^failures (capped), so retries of many clients spread out but still grow."""
        ceiling = min(self.cap_s, self.base_s * (1 << min(self.failures, 62)))
        self.failures += 1
        delay = ceiling / 2 + self.rng.random() * ceiling / 2
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER_S))
        return delay

    def reset(self) -> None:
        self.failures = 0


def retry_after(header: str | None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds form); None if absent or unreadable."""
    if header is None:
        return None
    try:
        seconds = float(header.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
