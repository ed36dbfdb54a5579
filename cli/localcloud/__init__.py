"""The local multi-region cloud: moto, patched, plus the data planes moto lacks, on 127.0.0.1.

One package per AWS service, named as moto names it, each holding that service's moto patch
(patch.py), its data plane (the other modules, named for what they do) and its wiring (wiring.py:
how the supervisor connects the data plane to moto's backends and to the other services):

    apigatewayv2/   each region's HTTP APIs (gateway, routing, events, throttling, server)
    awslambda/      the function runtime (runtime/) and the DynamoDB stream event source
                    mappings (event_source_mappings/)
    cloudformation/ the patch only, a package of its own: one module per group of behaviours
    cloudwatch/, s3/, ssm/   the patch only
    dynamodb/       global-table replication and stream records
    route53/        health checkers, routing, the global entry

At the top, the process and the seams every service shares:

    supervisor.py   the one background process; lifecycle.py starts, finds and stops it
    aws_endpoint.py moto's server app plus the /_localcloud/ routes; control_api.py the
                    supervisor's control calls (status, fault, heal, resolve)
    console/        the web console on the endpoint (/_localcloud/console/): state, faults, routing
    patches.py      installs every service's patch, once
    hooks.py        the callbacks from moto's request threads to the data planes
    invocation.py   one Lambda invocation's outcome, for every caller of a function
    faults.py       the faults injected into regions
    loopback.py     the loopback-only connection guard

The emulator imports nothing from globalctl: it is given a state directory and its regions.
"""
