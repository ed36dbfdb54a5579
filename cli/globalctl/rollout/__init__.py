"""Multi-region rollouts and rollbacks: a pure planner (`plan`) and the executor that runs it."""
