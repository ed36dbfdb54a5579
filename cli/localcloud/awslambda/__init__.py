"""Lambda on the local cloud: its moto patch, its runtime, its event source mappings and wiring.

- patch.py: the moto patch (Invoke runs the deployed code; every function and mapping change is
  announced through localcloud.hooks);
- runtime/: the data plane, deployed Python functions run "as deployed" in worker processes;
- wiring.py: how the supervisor keeps the runtime in step with the functions moto holds;
- event_source_mappings/: the pollers that read DynamoDB streams and invoke functions, as
  Lambda's event source mappings do (CreateEventSourceMapping is Lambda's API).
"""
