"""Lambda on the local cloud: its moto patch, its runtime, its event source mappings and wiring.

- patch.py: the moto patch (Invoke runs the deployed code; every function and mapping change is
  announced through localcloud.hooks);
- runtime/: the data plane, deployed Python functions run "as deployed" in worker processes;
- public_layers.py: Powertools' public layer, built with pip on first request and served for
  download, as GetLayerVersion's Content.Location (`sam local` downloads every layer);
- wiring.py: how the supervisor keeps the runtime in step with the functions moto holds, and
  the route the public layers are downloaded from;
- event_source_mappings/: the pollers that read DynamoDB streams and invoke functions, as
  Lambda's event source mappings do (CreateEventSourceMapping is Lambda's API).
"""
