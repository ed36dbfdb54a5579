"""Route 53 traffic policies and health-check status on moto 5.2.5.

- AWS::Route53::TrafficPolicy / TrafficPolicyInstance and the traffic-policy API (moto answers
  404 to every traffic-policy call and skips the resource types); documents are validated as
  Route 53 validates them;
- GetHealthCheckStatus reports what the local health checkers observe (moto always says healthy);
- AWS::Route53::HealthCheck updates in place and keeps its id, as Route 53's UpdateHealthCheck does;
- record sets and record set groups change one record (name, type, set identifier) at a time
  (record_sets.py).
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.core.responses import ActionResult, EmptyResult
from moto.route53 import urls as route53_urls
from moto.route53.exceptions import InvalidInput
from moto.route53.models import HealthCheck, route53_backends
from moto.route53.responses import Route53

from ..cloudformation import EXTRA_MODELS
from ..hooks import hooks
from . import record_sets
from .policy import validate


class NoSuchTrafficPolicy(InvalidInput):
    code = "NoSuchTrafficPolicy"

    def __init__(self, message: str):
        super().__init__(message)
        self.code = "NoSuchTrafficPolicy"
        self.status_code = 404  # type: ignore[misc]


class NoSuchTrafficPolicyInstance(NoSuchTrafficPolicy):
    code = "NoSuchTrafficPolicyInstance"

    def __init__(self, message: str):
        super().__init__(message)
        self.code = "NoSuchTrafficPolicyInstance"


class InvalidTrafficPolicyDocument(InvalidInput):
    code = "InvalidTrafficPolicyDocument"

    def __init__(self, message: str):
        super().__init__(message)
        self.code = "InvalidTrafficPolicyDocument"


@dataclass
class TrafficPolicyVersion:
    id: str
    version: int
    name: str
    document: str
    comment: str = ""

    @property
    def record_type(self) -> str:
        return json.loads(self.document).get("RecordType", "A")

    def to_dict(self) -> dict[str, Any]:
        return {"Id": self.id, "Version": self.version, "Name": self.name, "Type": self.record_type,
                "Document": self.document, "Comment": self.comment}


@dataclass
class TrafficPolicyInstance:
    id: str
    hosted_zone_id: str
    name: str
    ttl: int
    policy_id: str
    policy_version: int
    policy_type: str
    state: str = "Applied"
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"Id": self.id, "HostedZoneId": self.hosted_zone_id, "Name": self.name, "TTL": self.ttl,
                "State": self.state, "Message": self.message, "TrafficPolicyId": self.policy_id,
                "TrafficPolicyVersion": self.policy_version, "TrafficPolicyType": self.policy_type}


@dataclass
class TrafficPolicies:
    """The traffic-policy state of one account (Route 53 is a global service)."""

    policies: dict[str, list[TrafficPolicyVersion]] = field(default_factory=dict)
    instances: dict[str, TrafficPolicyInstance] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def create(self, name: str, document: str, comment: str = "") -> TrafficPolicyVersion:
        _validate(document)
        with self.lock:
            if any(v[0].name == name for v in self.policies.values()):
                raise InvalidInput(f"A traffic policy named {name} already exists")
            policy = TrafficPolicyVersion(str(uuid.uuid4()), 1, name, document, comment)
            self.policies[policy.id] = [policy]
            return policy

    def add_version(self, policy_id: str, document: str, comment: str = "") -> TrafficPolicyVersion:
        _validate(document)
        with self.lock:
            versions = self._versions(policy_id)
            latest = versions[-1]
            if json.loads(document).get("RecordType", "A") != latest.record_type:
                raise InvalidInput("the new version must have the same RecordType as the policy")
            policy = TrafficPolicyVersion(policy_id, latest.version + 1, latest.name, document, comment)
            versions.append(policy)
            return policy

    def _versions(self, policy_id: str) -> list[TrafficPolicyVersion]:
        if policy_id not in self.policies:
            raise NoSuchTrafficPolicy(f"No traffic policy found with ID {policy_id}")
        return self.policies[policy_id]

    def get(self, policy_id: str, version: int) -> TrafficPolicyVersion:
        with self.lock:
            for policy in self._versions(policy_id):
                if policy.version == int(version):
                    return policy
        raise NoSuchTrafficPolicy(f"Traffic policy {policy_id} has no version {version}")

    def delete(self, policy_id: str, version: int) -> None:
        with self.lock:
            if any(i.policy_id == policy_id and i.policy_version == int(version) for i in self.instances.values()):
                raise InvalidInput("TrafficPolicyInUse: a traffic policy instance uses this version")
            versions = self._versions(policy_id)
            versions[:] = [v for v in versions if v.version != int(version)]
            if not versions:
                del self.policies[policy_id]

    def create_instance(self, account_id: str, zone_id: str, name: str, ttl: int, policy_id: str,
                        version: int) -> TrafficPolicyInstance:
        policy = self.get(policy_id, version)
        zone = route53_backends[account_id]["aws"].get_hosted_zone(zone_id)
        fqdn = name.rstrip(".").lower() + "."
        zone_name = zone.name.rstrip(".").lower() + "."
        if not (fqdn == zone_name or fqdn.endswith("." + zone_name)):
            raise InvalidInput(f"{name} is not in the hosted zone {zone.name}")
        with self.lock:
            # The bare zone id (moto's zone.id is "/hostedzone/<id>"), as Route 53 returns it here and
            # as ListTrafficPolicyInstancesByHostedZone is asked for it.
            if any(i.name == fqdn and i.hosted_zone_id == zone.resource_id for i in self.instances.values()):
                raise InvalidInput(f"TrafficPolicyInstanceAlreadyExists: {fqdn}")
            instance = TrafficPolicyInstance(str(uuid.uuid4()), zone.resource_id, fqdn, int(ttl), policy_id,
                                             int(version), policy.record_type)
            self.instances[instance.id] = instance
        hooks.routing_changed(account_id)
        return instance

    def instance(self, instance_id: str) -> TrafficPolicyInstance:
        with self.lock:
            if instance_id not in self.instances:
                raise NoSuchTrafficPolicyInstance(f"No traffic policy instance found with ID {instance_id}")
            return self.instances[instance_id]

    def update_instance(self, account_id: str, instance_id: str, ttl: int, policy_id: str,
                        version: int) -> TrafficPolicyInstance:
        self.get(policy_id, version)
        with self.lock:
            instance = self.instance(instance_id)
            if policy_id != instance.policy_id:
                raise InvalidInput("ConflictingTypes: an instance keeps its traffic policy; change the version")
            instance.ttl, instance.policy_version = int(ttl), int(version)
        hooks.routing_changed(account_id)
        return instance

    def delete_instance(self, account_id: str, instance_id: str) -> None:
        with self.lock:
            self.instance(instance_id)
            del self.instances[instance_id]
        hooks.routing_changed(account_id)


_accounts: dict[str, TrafficPolicies] = {}
_accounts_lock = threading.Lock()


def traffic_policies(account_id: str) -> TrafficPolicies:
    with _accounts_lock:
        return _accounts.setdefault(account_id, TrafficPolicies())


def _validate(document: str) -> None:
    try:
        parsed = json.loads(document)
    except ValueError as error:
        raise InvalidTrafficPolicyDocument(f"not JSON ({error})") from error
    problems = validate(parsed)
    if problems:
        raise InvalidTrafficPolicyDocument("; ".join(problems))


# --- the API ------------------------------------------------------------------------------------

_PATHS = {
    r"{0}/(?P<api_version>[\d_-]+)/trafficpolicy$": Route53.dispatch,
    r"{0}/(?P<api_version>[\d_-]+)/trafficpolicy/(?P<policy_id>[^/]+)$": Route53.dispatch,
    r"{0}/(?P<api_version>[\d_-]+)/trafficpolicy/(?P<policy_id>[^/]+)/(?P<version>[^/]+)$": Route53.dispatch,
    r"{0}/(?P<api_version>[\d_-]+)/trafficpolicies$": Route53.dispatch,
    r"{0}/(?P<api_version>[\d_-]+)/trafficpolicies/(?P<policy_id>[^/]+)/versions$": Route53.dispatch,
    r"{0}/(?P<api_version>[\d_-]+)/trafficpolicyinstance$": Route53.dispatch,
    r"{0}/(?P<api_version>[\d_-]+)/trafficpolicyinstance/(?P<instance_id>[^/]+)$": Route53.dispatch,
    r"{0}/(?P<api_version>[\d_-]+)/trafficpolicyinstances$": Route53.dispatch,
    r"{0}/(?P<api_version>[\d_-]+)/trafficpolicyinstances/hostedzone$": Route53.dispatch,
    r"{0}/(?P<api_version>[\d_-]+)/trafficpolicyinstances/trafficpolicy$": Route53.dispatch,
    r"{0}/(?P<api_version>[\d_-]+)/trafficpolicyinstancecount$": Route53.dispatch,
}


class TrafficPolicyResponses:
    """Methods added to moto's Route53 response class; botocore's model routes to them by name."""

    def _policies(self: Any) -> TrafficPolicies:
        return traffic_policies(self.current_account)

    def create_traffic_policy(self: Any) -> ActionResult:
        policy = TrafficPolicyResponses._policies(self).create(
            self._get_param("Name"), self._get_param("Document"), self._get_param("Comment") or "")
        self.response_headers["Location"] = f"https://route53.amazonaws.com/2013-04-01/trafficpolicy/{policy.id}/1"
        return ActionResult({"TrafficPolicy": policy.to_dict(), "Location": self.response_headers["Location"]})

    def create_traffic_policy_version(self: Any) -> ActionResult:
        policy = TrafficPolicyResponses._policies(self).add_version(
            self._get_param("Id"), self._get_param("Document"), self._get_param("Comment") or "")
        location = f"https://route53.amazonaws.com/2013-04-01/trafficpolicy/{policy.id}/{policy.version}"
        return ActionResult({"TrafficPolicy": policy.to_dict(), "Location": location})

    def get_traffic_policy(self: Any) -> ActionResult:
        policy = TrafficPolicyResponses._policies(self).get(self._get_param("Id"), self._get_param("Version"))
        return ActionResult({"TrafficPolicy": policy.to_dict()})

    def delete_traffic_policy(self: Any) -> ActionResult:
        TrafficPolicyResponses._policies(self).delete(self._get_param("Id"), self._get_param("Version"))
        return EmptyResult()

    def list_traffic_policies(self: Any) -> ActionResult:
        state = TrafficPolicyResponses._policies(self)
        with state.lock:
            summaries = [{"Id": v[-1].id, "Name": v[-1].name, "Type": v[-1].record_type,
                          "LatestVersion": v[-1].version, "TrafficPolicyCount": len(v)}
                         for v in state.policies.values()]
        return ActionResult({"TrafficPolicySummaries": summaries, "IsTruncated": False,
                             "TrafficPolicyIdMarker": "", "MaxItems": str(max(len(summaries), 100))})

    def list_traffic_policy_versions(self: Any) -> ActionResult:
        state = TrafficPolicyResponses._policies(self)
        with state.lock:
            versions = [v.to_dict() for v in state._versions(self._get_param("Id"))]
        return ActionResult({"TrafficPolicies": versions, "IsTruncated": False,
                             "TrafficPolicyVersionMarker": "", "MaxItems": "100"})

    def create_traffic_policy_instance(self: Any) -> ActionResult:
        instance = TrafficPolicyResponses._policies(self).create_instance(
            self.current_account, self._get_param("HostedZoneId"), self._get_param("Name"),
            self._get_param("TTL"), self._get_param("TrafficPolicyId"), self._get_param("TrafficPolicyVersion"))
        location = f"https://route53.amazonaws.com/2013-04-01/trafficpolicyinstance/{instance.id}"
        return ActionResult({"TrafficPolicyInstance": instance.to_dict(), "Location": location})

    def get_traffic_policy_instance(self: Any) -> ActionResult:
        instance = TrafficPolicyResponses._policies(self).instance(self._get_param("Id"))
        return ActionResult({"TrafficPolicyInstance": instance.to_dict()})

    def update_traffic_policy_instance(self: Any) -> ActionResult:
        instance = TrafficPolicyResponses._policies(self).update_instance(
            self.current_account, self._get_param("Id"), self._get_param("TTL"),
            self._get_param("TrafficPolicyId"), self._get_param("TrafficPolicyVersion"))
        return ActionResult({"TrafficPolicyInstance": instance.to_dict()})

    def delete_traffic_policy_instance(self: Any) -> ActionResult:
        TrafficPolicyResponses._policies(self).delete_instance(self.current_account, self._get_param("Id"))
        return EmptyResult()

    def _instances(self: Any, **match: Any) -> ActionResult:
        state = TrafficPolicyResponses._policies(self)
        with state.lock:
            found = [i.to_dict() for i in state.instances.values()
                     if all(getattr(i, k) == v for k, v in match.items() if v is not None)]
        return ActionResult({"TrafficPolicyInstances": found, "IsTruncated": False, "MaxItems": "100"})

    def list_traffic_policy_instances(self: Any) -> ActionResult:
        return TrafficPolicyResponses._instances(self)

    def list_traffic_policy_instances_by_hosted_zone(self: Any) -> ActionResult:
        return TrafficPolicyResponses._instances(self, hosted_zone_id=self._get_param("HostedZoneId"))

    def list_traffic_policy_instances_by_policy(self: Any) -> ActionResult:
        return TrafficPolicyResponses._instances(self, policy_id=self._get_param("TrafficPolicyId"))

    def get_traffic_policy_instance_count(self: Any) -> ActionResult:
        state = TrafficPolicyResponses._policies(self)
        with state.lock:
            return ActionResult({"TrafficPolicyInstanceCount": len(state.instances)})

    def get_health_check_status(self: Any) -> ActionResult:
        health_check_id = self._get_param("HealthCheckId")
        self.backend.get_health_check(health_check_id)
        observations = hooks.health_observations(health_check_id)
        if observations is None:  # no checker has run yet: Route 53 reports none either
            observations = []
        return ActionResult({"HealthCheckObservations": observations})


# --- CloudFormation ------------------------------------------------------------------------------

class TrafficPolicyModel(CloudFormationModel):
    def __init__(self, account_id: str, policy: TrafficPolicyVersion):
        self.account_id = account_id
        self.policy = policy

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Route53::TrafficPolicy"

    @property
    def physical_resource_id(self) -> str:
        return self.policy.id

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Id", "Version", "Type")

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        return {"Id": self.policy.id, "Version": self.policy.version, "Type": self.policy.record_type}[attribute_name]

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],
                                        account_id: str, region_name: str, **kwargs: Any) -> TrafficPolicyModel:
        p = cloudformation_json["Properties"]
        document = p["Document"] if isinstance(p["Document"], str) else json.dumps(p["Document"])
        name = p.get("Name") or resource_name
        return cls(account_id, traffic_policies(account_id).create(name, document, p.get("Comment", "")))

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: TrafficPolicyModel, new_resource_name: str,
                                        cloudformation_json: dict[str, Any], account_id: str,
                                        region_name: str) -> TrafficPolicyModel:
        # CloudFormation adds a version for a new document; the policy keeps its id.
        p = cloudformation_json["Properties"]
        document = p["Document"] if isinstance(p["Document"], str) else json.dumps(p["Document"])
        policy = traffic_policies(account_id).add_version(original_resource.policy.id, document, p.get("Comment", ""))
        original_resource.policy = policy
        return original_resource

    def delete(self, account_id: str, region: str) -> None:
        state = traffic_policies(account_id)
        with state.lock:
            versions = list(state.policies.get(self.policy.id, []))
        for version in versions:
            state.delete(self.policy.id, version.version)


class TrafficPolicyInstanceModel(CloudFormationModel):
    def __init__(self, account_id: str, instance: TrafficPolicyInstance):
        self.account_id = account_id
        self.instance = instance

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Route53::TrafficPolicyInstance"

    @property
    def physical_resource_id(self) -> str:
        return self.instance.id

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],
                                        account_id: str, region_name: str,
                                        **kwargs: Any) -> TrafficPolicyInstanceModel:
        p = cloudformation_json["Properties"]
        zone_id = p.get("HostedZoneId") or _zone_id_by_name(account_id, p["HostedZoneName"])
        instance = traffic_policies(account_id).create_instance(
            account_id, zone_id, p["Name"], int(p["TTL"]), p["TrafficPolicyId"], int(p["TrafficPolicyVersion"]))
        return cls(account_id, instance)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: TrafficPolicyInstanceModel, new_resource_name: str,
                                        cloudformation_json: dict[str, Any], account_id: str,
                                        region_name: str) -> TrafficPolicyInstanceModel:
        p = cloudformation_json["Properties"]
        state = traffic_policies(account_id)
        current = original_resource.instance
        if p["Name"].rstrip(".").lower() + "." != current.name or p["TrafficPolicyId"] != current.policy_id:
            original_resource.delete(account_id, region_name)
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
        original_resource.instance = state.update_instance(
            account_id, current.id, int(p["TTL"]), p["TrafficPolicyId"], int(p["TrafficPolicyVersion"]))
        return original_resource

    def delete(self, account_id: str, region: str) -> None:
        traffic_policies(account_id).delete_instance(account_id, self.instance.id)


def _zone_id_by_name(account_id: str, name: str) -> str:
    wanted = name.rstrip(".").lower() + "."
    for zone in route53_backends[account_id]["aws"].list_hosted_zones():
        if zone.name.lower() == wanted:
            return zone.id
    raise InvalidInput(f"No hosted zone named {name}")


def _update_health_check(cls: type, original_resource: HealthCheck, new_resource_name: str,
                         cloudformation_json: dict[str, Any], account_id: str, region_name: str) -> HealthCheck:
    config = cloudformation_json["Properties"]["HealthCheckConfig"]
    for attr, key in (("ip_address", "IPAddress"), ("port", "Port"), ("resource_path", "ResourcePath"),
                      ("fqdn", "FullyQualifiedDomainName"), ("search_string", "SearchString"),
                      ("failure_threshold", "FailureThreshold"), ("inverted", "Inverted"),
                      ("disabled", "Disabled")):
        if key in config:
            setattr(original_resource, attr, config[key])
    original_resource.health_check_version += 1
    hooks.routing_changed(account_id)
    return original_resource


def _create_health_check(original: Any) -> Any:
    def create(cls: type, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
               **kwargs: Any) -> HealthCheck:
        check = original.__func__(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        config = cloudformation_json["Properties"]["HealthCheckConfig"]
        check.inverted = bool(config.get("Inverted", False))
        check.disabled = bool(config.get("Disabled", False))
        hooks.routing_changed(account_id)
        return check

    return classmethod(create)


def install() -> None:
    record_sets.install()
    for name in ("create_traffic_policy", "create_traffic_policy_version", "get_traffic_policy",
                 "delete_traffic_policy", "list_traffic_policies", "list_traffic_policy_versions",
                 "create_traffic_policy_instance", "get_traffic_policy_instance",
                 "update_traffic_policy_instance", "delete_traffic_policy_instance", "_instances",
                 "list_traffic_policy_instances", "list_traffic_policy_instances_by_hosted_zone",
                 "list_traffic_policy_instances_by_policy", "get_traffic_policy_instance_count",
                 "get_health_check_status"):
        setattr(Route53, name, getattr(TrafficPolicyResponses, name))
    Route53._policies = TrafficPolicyResponses._policies  # type: ignore[attr-defined]
    route53_urls.url_paths.update(_PATHS)
    HealthCheck.update_from_cloudformation_json = classmethod(_update_health_check)  # type: ignore[assignment]
    HealthCheck.create_from_cloudformation_json = _create_health_check(  # type: ignore[assignment]
        HealthCheck.create_from_cloudformation_json)
    for model in (TrafficPolicyModel, TrafficPolicyInstanceModel):
        EXTRA_MODELS[model.cloudformation_type()] = model
