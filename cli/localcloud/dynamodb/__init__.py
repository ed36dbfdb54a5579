"""DynamoDB on the local cloud: its moto patch, global-table replication and stream records.

- ``patch``: the moto patch (AWS::DynamoDB::GlobalTable with real replication, MRSC refusals,
  per-replica settings, one stream record per UpdateItem in the table's own region); it imports
  moto and is not exported here;
- ``replication``: ReplicationGroup replicates a global table's items between its Regional
  replicas (EVENTUAL last-writer-wins, or STRONG with a quorum), with cut/restore fault injection;
  ``replicating()`` is the one "this write arrived from another replica" flag;
- ``streams``: stream record shapes, the ShardReader protocol and an in-memory shard.

Lambda's pollers of these streams are Lambda's event source mappings: localcloud.awslambda.
"""

from __future__ import annotations

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
from .streams import ListShardReader, ShardReader, make_stream_record

__all__ = [
    "EVENTUAL",
    "STRONG",
    "InvalidTopology",
    "ListShardReader",
    "QuorumUnavailable",
    "ReplicatedWriteConflict",
    "ReplicationError",
    "ReplicationGroup",
    "ShardReader",
    "StrongWrite",
    "WriteStamp",
    "make_stream_record",
    "replicating",
    "validate_topology",
]
