"""Lambda's event source mappings for DynamoDB streams (CreateEventSourceMapping is Lambda's API).

- ``poller``: StreamEventSourceMapping polls a stream shard and invokes a function the way
  Lambda's poller does (filtering, batching, partial batch responses, bisection, on-failure
  destinations);
- ``filters``: Lambda's FilterCriteria pattern matching;
- ``events``: the function's event and the on-failure invocation record;
- ``wiring``: one poller per mapping moto holds, reading moto's stream shards (imports moto; not
  exported here).
"""

from __future__ import annotations

from .events import invocation_record, lambda_event
from .filters import FilterCriteria, InvalidFilterPattern
from .poller import EsmStats, InvalidEventSourceMapping, StreamEventSourceMapping, StreamMappingConfig

__all__ = [
    "EsmStats",
    "FilterCriteria",
    "InvalidEventSourceMapping",
    "InvalidFilterPattern",
    "StreamEventSourceMapping",
    "StreamMappingConfig",
    "invocation_record",
    "lambda_event",
]
