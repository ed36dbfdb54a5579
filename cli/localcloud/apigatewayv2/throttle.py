"""Stage and route throttling: one token bucket per (API, route).

"API Gateway throttles requests to your API using the token bucket algorithm": the burst limit is
the bucket's size, the rate limit its steady refill per second; a request finding the bucket empty
gets 429 {"message":"Too Many Requests"}. HTTP API stages carry DefaultRouteSettings plus per-route
RouteSettings (ThrottlingRateLimit / ThrottlingBurstLimit); a route's own setting wins.
Source: "Throttling requests to your HTTP API" (token bucket, burst = maximum bucket size,
route-level settings override the defaults),
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html

Decided here (the docs do not say): a rate without a burst gets a bucket of max(1, ceil(rate));
no rate at all means the route is not throttled. Limits of 0 reject every request, as AWS does
for a stage whose throttling is 0.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Callable

from .model import Stage

Clock = Callable[[], float]


class TokenBucket:
    """Not thread-safe on its own; Throttler serialises access."""

    def __init__(self, rate: float, burst: int, clock: Clock) -> None:
        self.rate = max(0.0, float(rate))
        self.burst = max(0, int(burst))
        self._clock = clock
        self._tokens = float(self.burst)
        self._updated = clock()

    def try_acquire(self) -> bool:
        now = self._clock()
        elapsed = max(0.0, now - self._updated)
        self._updated = now
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    @property
    def tokens(self) -> float:
        return self._tokens


def effective_limits(stage: Stage, route_key: str) -> tuple[float, int] | None:
    """(rate, burst) that applies to a route, or None when it is not throttled."""
    rate, burst = stage.limits_for(route_key)
    if rate is None:
        return None
    if burst is None:
        burst = max(1, math.ceil(rate))
    return float(rate), int(burst)


class Throttler:
    """Admission control for every API one regional server fronts; safe across request threads."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def allow(self, api_id: str, stage: Stage, route_key: str) -> bool:
        limits = effective_limits(stage, route_key)
        if limits is None:
            return True
        rate, burst = limits
        key = (api_id, route_key)
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None or (bucket.rate, bucket.burst) != (rate, burst):
                # New limits (a redeployed stage) start from a full bucket, like a fresh stage.
                bucket = TokenBucket(rate, burst, self._clock)
                self._buckets[key] = bucket
            return bucket.try_acquire()

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
