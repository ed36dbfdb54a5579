"""A failover drill: traffic through the global entry from several client locations, a region taken
out (drained through the routing stack, or an outage on the local cloud), the failover measured
from the traffic itself, the region restored, and every write of the drill read back everywhere.

The rollout's pattern: plan.py checks the options against the deployed topology and makes the drill
plan; executor.py runs it (traffic.py is the client load, disruptions.py takes the region out and
puts it back); measure.py turns the request records into the numbers and the verdict (pure);
report.py writes the report down, and timeline.py draws it (an SVG beside it).

Timeline (seconds since the traffic started):

    0 ........ T0 = baseline ............................ end = duration ...... restored
    baseline   disruption (drain or outage)                restore (weight / heal)

- failover time: the last request sent at or after T0 that was still routed to the region, minus
  T0 (0 when none was). The failover window is [T0, T0 + failover + WINDOW_GRACE_SECONDS]; errors
  are counted inside it and after it (up to the restore), separately.
- restored time: from the restore until a request from the region's own location is routed to
  it again with a 2xx (bounded by RESTORE_TIMEOUT_SECONDS).

An outage fails over only when Route 53 sees it: FailureThreshold consecutive failed checks, one
every RequestInterval ("How Amazon Route 53 determines whether a health check is healthy",
https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-determining-health-of-endpoints.html).
A drain is a routing stack update: on AWS clients see it after the record TTL, locally at once.

On AWS there is no entry URL to call without DNS: `--entry https://<RecordName>` sends the traffic
to the routed name (X-Client-Location is then only a label: AWS routes by where this machine is),
and the region serving a request is read from the API's x-served-by-region header.
"""
