"""`make chaos`: the global app under a mixed workload while a region fails, on the local cloud.

Two scenarios on one deployment of the shipped three-region topology (`globalctl rollout`):

- outage: one region's API, health endpoint and replication stop for 20 s in the middle of a
  60 s workload through the global entry, then it heals;
- partition: the same workload while one region's replication alone is cut, so both sides take
  conflicting writes to the same items.

After each, every replica must converge to the same content, no acknowledged write may be lost,
and (outage) Route 53 must have moved the failed region's clients within the health check's
interval x failure threshold + 2 s, with no error after that. `python -m chaos --help`.
"""
