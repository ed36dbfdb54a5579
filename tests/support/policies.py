"""Routing policies as a user writes them in samconfig (the routing environment's parameters), for
three and five regions: shared by the policy, template, CLI and local-cloud tests."""

from __future__ import annotations

THREE = {"euw1": "eu-west-1", "use1": "us-east-1", "apse1": "ap-southeast-1"}
FIVE = {"euw1": "eu-west-1", "euc1": "eu-central-1", "use1": "us-east-1", "usw2": "us-west-2",
        "apse1": "ap-southeast-1"}
# EU clients stay in the EU while an EU region is healthy; the rest of the world by latency.
EU_FIRST = {"RoutingPolicy": "geolocation-latency", "LatencyGroups": "eu:euw1+euc1,us:use1+usw2",
            "GeoLocations": "eu:eu,us:na", "GeoDefault": "all"}
POLICIES = {
    3: {
        "latency": {},
        "geolocation": {"RoutingPolicy": "geolocation", "GeoLocations": "euw1:eu+GB,use1:na+sa,apse1:as+oc",
                        "GeoDefault": "use1"},
        "weighted": {"RoutingPolicy": "weighted", "RoutingWeights": "euw1:60,use1:30,apse1:10"},
        "failover": {"RoutingPolicy": "failover", "FailoverChain": "euw1,use1,apse1"},
        "geolocation-latency": {"RoutingPolicy": "geolocation-latency", "LatencyGroups": "eu:euw1,rest:use1+apse1",
                                "GeoLocations": "eu:eu", "GeoDefault": "all"},
    },
    5: {
        "latency": {},
        "geolocation": {"RoutingPolicy": "geolocation", "GeoLocations": "euw1:eu+GB,euc1:DE,use1:na,usw2:sa,apse1:as+oc",
                        "GeoDefault": "use1"},
        "weighted": {"RoutingPolicy": "weighted", "RoutingWeights": "euw1:20,euc1:20,use1:20,usw2:20,apse1:20"},
        "failover": {"RoutingPolicy": "failover", "FailoverChain": "euw1,euc1,use1,usw2,apse1"},
        "geolocation-latency": EU_FIRST,
    },
}
REGIONS = {3: THREE, 5: FIVE}


def overrides(params: dict[str, str]) -> str:
    """The parameter_overrides text of a routing environment with these policy parameters."""
    return " ".join(f"{key}={value}" for key, value in params.items())
