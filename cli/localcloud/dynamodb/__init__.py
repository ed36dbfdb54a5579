"""DynamoDB data planes moto lacks: global-table replication and stream event source mappings.

- ``replication``: ReplicationGroup replicates a global table's items between its Regional
  replicas (EVENTUAL last-writer-wins, or STRONG with a quorum), with cut/restore fault injection.
- ``esm``: StreamEventSourceMapping polls a stream shard and invokes a function the way Lambda's
  poller does (filtering, batching, partial batch responses, bisection, on-failure destinations).
- ``filters``: Lambda's FilterCriteria pattern matching.
- ``stream_event``: stream record shapes, the ShardReader protocol and an in-memory shard.
"""

from __future__ import annotations

from .esm import EsmStats, InvalidEventSourceMapping, StreamEventSourceMapping, StreamMappingConfig
from .filters import FilterCriteria, InvalidFilterPattern
from .replication import (
    EVENTUAL,
    STRONG,
    InvalidTopology,
    QuorumUnavailable,
    ReplicatedWriteConflict,
    ReplicationError,
    ReplicationGroup,
    StrongWrite,
    WriteStamp,
    replicating,
    validate_topology,
)
from .stream_event import ListShardReader, ShardReader, make_stream_record

__all__ = [
    "EVENTUAL",
    "STRONG",
    "EsmStats",
    "FilterCriteria",
    "InvalidEventSourceMapping",
    "InvalidFilterPattern",
    "InvalidTopology",
    "ListShardReader",
    "QuorumUnavailable",
    "ReplicatedWriteConflict",
    "ReplicationError",
    "ReplicationGroup",
    "ShardReader",
    "StreamEventSourceMapping",
    "StreamMappingConfig",
    "StrongWrite",
    "WriteStamp",
    "make_stream_record",
    "replicating",
    "validate_topology",
]
