"""Token-bucket throttling per (API, route), driven by a fake clock."""

from __future__ import annotations

import threading

from localcloud.apigatewayv2.model import Stage
from localcloud.apigatewayv2.throttle import Throttler, TokenBucket, effective_limits


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def admitted(throttler: Throttler, stage: Stage, route: str, attempts: int, api: str = "api1") -> int:
    return sum(throttler.allow(api, stage, route) for _ in range(attempts))


def test_burst_then_429_then_refill() -> None:
    clock = FakeClock()
    throttler = Throttler(clock)
    stage = Stage(throttling_rate_limit=2.0, throttling_burst_limit=3)
    assert [throttler.allow("api1", stage, "GET /items") for _ in range(4)] == [True, True, True, False]
    clock.advance(0.49)  # 0.98 of a token: still empty
    assert throttler.allow("api1", stage, "GET /items") is False
    clock.advance(0.02)
    assert throttler.allow("api1", stage, "GET /items") is True
    assert throttler.allow("api1", stage, "GET /items") is False
    clock.advance(60)  # refill caps at the burst
    assert admitted(throttler, stage, "GET /items", 10) == 3


def test_steady_rate_over_time() -> None:
    clock = FakeClock()
    throttler = Throttler(clock)
    stage = Stage(throttling_rate_limit=5.0, throttling_burst_limit=5)
    assert admitted(throttler, stage, "GET /x", 5) == 5
    total = 0
    for _ in range(100):  # 10 s in 0.1 s steps, hammering each step
        clock.advance(0.1)
        total += admitted(throttler, stage, "GET /x", 3)
    assert 49 <= total <= 50


def test_route_settings_override_stage_defaults_and_buckets_are_separate() -> None:
    clock = FakeClock()
    throttler = Throttler(clock)
    stage = Stage(
        throttling_rate_limit=0.0,
        throttling_burst_limit=2,
        route_settings={"PUT /items/{id}": (None, 5), "GET /health": (100.0, 100)},
    )
    assert admitted(throttler, stage, "PUT /items/{id}", 10) == 5  # own burst, stage rate 0
    assert admitted(throttler, stage, "GET /items", 10) == 2  # stage default
    assert admitted(throttler, stage, "DELETE /items/{id}", 10) == 2  # its own bucket
    assert admitted(throttler, stage, "GET /items", 10, api="api2") == 2  # other API, other bucket
    assert admitted(throttler, stage, "GET /health", 150) == 100


def test_no_limits_means_no_throttling_and_zero_means_none_pass() -> None:
    throttler = Throttler(FakeClock())
    assert admitted(throttler, Stage(), "GET /x", 1000) == 1000
    assert admitted(throttler, Stage(throttling_rate_limit=0.0, throttling_burst_limit=0), "GET /x", 10) == 0
    assert effective_limits(Stage(throttling_rate_limit=2.5), "GET /x") == (2.5, 3)
    assert effective_limits(Stage(throttling_burst_limit=7), "GET /x") is None


def test_redeployed_limits_start_a_fresh_bucket() -> None:
    clock = FakeClock()
    throttler = Throttler(clock)
    assert admitted(throttler, Stage(throttling_rate_limit=0.0, throttling_burst_limit=1), "GET /x", 5) == 1
    assert admitted(throttler, Stage(throttling_rate_limit=0.0, throttling_burst_limit=3), "GET /x", 5) == 3


def test_concurrent_requests_never_exceed_the_burst() -> None:
    clock = FakeClock()  # frozen: no refill while the threads race
    throttler = Throttler(clock)
    stage = Stage(throttling_rate_limit=1.0, throttling_burst_limit=50)
    results: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        mine = [throttler.allow("api1", stage, "GET /x") for _ in range(40)]
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(results) == 320
    assert sum(results) == 50


def test_token_bucket_ignores_a_clock_that_goes_backwards() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1.0, burst=1, clock=clock)
    assert bucket.try_acquire() is True
    clock.advance(-5)
    assert bucket.try_acquire() is False
    clock.advance(1)
    assert bucket.try_acquire() is True
