"""The local cloud's web console, on the AWS endpoint's own origin at /_localcloud/console/: every
region's release, health, routing, fault, replication lag, traffic and alarms, where each client
location is routed, buttons that inject and heal faults, and the last rollouts and drills.

    web.py        the route: static files and the JSON state call, with the security headers
    assets.py     the static files (index.html, console.css, console.js), by name only
    state.py      the state call's answer, one guarded piece at a time
    probes.py     each region API's /health, probed over HTTP and shared for a moment
    routing.py    the client-location grid and Route 53 health per region
    telemetry.py  traffic, alarms and replication lag from the local CloudWatch and replication
    records.py    globalctl's history.json and drill reports, read as plain JSON

It reads the cloud (the supervisor's LocalCloud) and globalctl's files; it imports nothing from
globalctl, and changes nothing itself: the page's fault buttons call the control calls.
"""

from .web import CONSOLE_PATH, register_console

__all__ = ["CONSOLE_PATH", "register_console"]
