"""AWS::Route53::RecordSet and RecordSetGroup as CloudFormation changes them, on moto 5.2.5.

moto's RecordSetGroup can only be created (no update, no delete), and its RecordSet deletes every
record of its name and type whatever the set identifier: a latency or weighted set loses all its
records when one goes. In Route 53 a record is one (name, type, set identifier), and a record set
group is one change batch: an update takes its old records out and puts its new ones in at once.
"""

from __future__ import annotations

from typing import Any

from moto.route53.models import RecordSet, RecordSetGroup, route53_backends

from ..hooks import hooks


def _norm(name: str) -> str:
    return name.rstrip(".").lower()


def _zone(account_id: str, properties: dict[str, Any]) -> Any:
    backend = route53_backends[account_id]["aws"]
    zone = backend.get_hosted_zone_by_name(properties["HostedZoneName"]) if properties.get("HostedZoneName") else None
    return zone if zone is not None else backend.get_hosted_zone(properties["HostedZoneId"])


def _remove(zone: Any, records: list[dict[str, Any]]) -> None:
    """Take out exactly these records: same name, type and set identifier."""
    gone = {(_norm(r["Name"]), r.get("Type", "").upper(), r.get("SetIdentifier") or None) for r in records}
    zone.rrsets = [r for r in zone.rrsets if (_norm(r.name), r.type.upper(), r.set_identifier or None) not in gone]


def _changed(account_id: str) -> None:
    hooks.routing_changed(account_id)


class _Group:
    @classmethod
    def update_from_cloudformation_json(cls, original_resource: Any, new_resource_name: str,
                                        cloudformation_json: Any, account_id: str, region_name: str) -> Any:
        properties = cloudformation_json["Properties"]
        zone = _zone(account_id, properties)
        _remove(zone, original_resource.record_sets)
        for record in properties["RecordSets"]:
            zone.add_rrset(record)
        _changed(account_id)
        return RecordSetGroup(region_name, zone.id, properties["RecordSets"])

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str) -> None:
        properties = cloudformation_json["Properties"]
        _remove(_zone(account_id, properties), properties["RecordSets"])
        _changed(account_id)

    def delete(self: Any, account_id: str, region: str) -> None:
        _remove(route53_backends[account_id]["aws"].get_hosted_zone(self.hosted_zone_id), self.record_sets)
        _changed(account_id)


def _delete_record(self: Any, account_id: str, region: str) -> None:
    backend = route53_backends[account_id]["aws"]
    zone = backend.get_hosted_zone_by_name(self.hosted_zone_name) if self.hosted_zone_name else None
    zone = zone if zone is not None else backend.get_hosted_zone(self.hosted_zone_id)
    _remove(zone, [{"Name": self.name, "Type": self.type, "SetIdentifier": self.set_identifier}])
    _changed(account_id)


def _create_group(original: Any) -> Any:
    def create(cls: type, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
               **kwargs: Any) -> Any:
        group = original.__func__(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        _changed(account_id)
        return group

    return classmethod(create)


def install() -> None:
    RecordSetGroup.update_from_cloudformation_json = _Group.update_from_cloudformation_json  # type: ignore[assignment]
    RecordSetGroup.delete_from_cloudformation_json = _Group.delete_from_cloudformation_json  # type: ignore[assignment]
    RecordSetGroup.delete = _Group.delete  # type: ignore[attr-defined]
    RecordSetGroup.create_from_cloudformation_json = _create_group(  # type: ignore[assignment]
        RecordSetGroup.create_from_cloudformation_json)
    RecordSet.delete = _delete_record  # type: ignore[assignment]
