"""Multi-region rollouts and rollbacks.

- plan: the pure planner (waves, canary, tolerance; no AWS, no clock);
- service: what the plan, rollout and rollback commands ask for (plans from options, resume,
  the rollback plan, change-set previews, executors);
- executor: runs a plan wave by wave through the Operations protocol; operations: the real ones;
- results and records: what a run leaves (per-target results, the state file, releases, history);
- changes: a deploy's change set, previewed.

The engines it shares with the other commands sit beside this package: stacks (CloudFormation),
routing (the routing stack's weights), regions (a region's API and health), gates, endpoints.
"""
