"""Retry delays: exponential with equal jitter from a seeded RNG, capped, never shorter than
the server's Retry-After."""

from __future__ import annotations

import random

import pytest

from cryptex_mm.backoff import MAX_RETRY_AFTER_S, Backoff, retry_after


def test_delays_double_between_half_and_all_of_the_ceiling_up_to_the_cap() -> None:
    backoff = Backoff(random.Random(1), base_s=0.25, cap_s=4)
    delays = [backoff.next() for _ in range(8)]
    ceilings = [0.25, 0.5, 1, 2, 4, 4, 4, 4]
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling / 2 <= delay <= ceiling
    backoff.reset()
    assert backoff.next() <= 0.25


def test_the_jitter_is_seeded() -> None:
    def delays(seed: int) -> list[float]:
        backoff = Backoff(random.Random(seed), 0.1, 10)
        return [backoff.next() for _ in range(6)]

    assert delays(5) == delays(5)
    assert delays(5) != delays(6)


def test_retry_after_is_a_floor_not_a_ceiling() -> None:
    backoff = Backoff(random.Random(1), base_s=0.25, cap_s=30)
    assert backoff.next(retry_after=2) == 2
    assert backoff.next(retry_after=0) <= 0.5
    assert backoff.next(retry_after=10**9) == MAX_RETRY_AFTER_S


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("1", 1.0), (" 3 ", 3.0), ("0.5", 0.5), (None, None), ("soon", None), ("-1", None),
     ("nan", None), ("Wed, 21 Oct 2015 07:28:00 GMT", None)],
)  # fmt: skip
def test_retry_after_header(header: str | None, seconds: float | None) -> None:
    assert retry_after(header) == seconds
