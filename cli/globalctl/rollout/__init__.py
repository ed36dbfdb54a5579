"""Multi-region rollouts and rollbacks: a pure planner (`plan`) and the executor that runs it.

The engines it shares with the other commands sit beside this package: stacks (CloudFormation),
routing (the routing stack's weights), gates (health, smoke, replication, alarms), endpoints.
"""
