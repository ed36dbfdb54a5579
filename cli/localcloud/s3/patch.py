"""S3 as CloudFormation uses it: AWS::S3::BucketPolicy (the `sam deploy --resolve-s3` managed
stack declares one; moto has no model for it and would skip it).

The policy is kept as a stack resource but not attached to the bucket: moto would enforce it, and
SAM's managed bucket policy denies every request without TLS (aws:SecureTransport), which the
loopback endpoint does not speak. The bucket must exist, as CloudFormation checks."""

from __future__ import annotations

import json
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.s3.models import s3_backends

from ..cloudformation import EXTRA_MODELS


class BucketPolicy(CloudFormationModel):
    def __init__(self, account_id: str, bucket: str, document: str):
        self.account_id = account_id
        self.bucket = bucket
        self.document = document

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::S3::BucketPolicy"

    @property
    def physical_resource_id(self) -> str:
        return self.bucket

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],
                                        account_id: str, region_name: str, **kwargs: Any) -> BucketPolicy:
        properties = cloudformation_json["Properties"]
        document = properties["PolicyDocument"]
        text = document if isinstance(document, str) else json.dumps(document)
        s3_backends[account_id]["aws"].get_bucket(properties["Bucket"])
        return cls(account_id, properties["Bucket"], text)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: BucketPolicy, new_resource_name: str,
                                        cloudformation_json: dict[str, Any], account_id: str,
                                        region_name: str) -> BucketPolicy:
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region: str) -> None:
        """Nothing was attached to the bucket, so nothing to detach."""


def install() -> None:
    EXTRA_MODELS[BucketPolicy.cloudformation_type()] = BucketPolicy
