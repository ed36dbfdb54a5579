"""localcloud.s3.patch: the `sam deploy --resolve-s3` managed stack deploys, and the bucket stays usable.

Plain moto 5.2.5 has no model for AWS::S3::BucketPolicy and gives change-set stacks no Outputs, so
SAM CLI's managed stack fails its own sanity check (it needs Tags and Outputs) and `sam deploy`
stops (../shared/design.md, "measured gaps").
The template is SAM CLI 1.170.0's managed stack (samcli.lib.bootstrap.bootstrap._get_stack_template,
without its Metadata), deployed the way samcli.lib.utils.managed_cloudformation_stack does it:
CreateChangeSet (CREATE, tag ManagedStackSource=AwsSamCli), ExecuteChangeSet, DescribeStacks.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError
from samcli.lib.utils.managed_cloudformation_stack import _check_sanity_of_stack

from .conftest import unique

REGION = "eu-west-2"


def _arn(*suffix: Any) -> dict[str, Any]:
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::", {"Ref": "SamCliSourceBucket"}, *suffix]]}


MANAGED_STACK = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Transform": "AWS::Serverless-2016-10-31",
    "Description": "Managed Stack for AWS SAM CLI",
    "Resources": {
        "SamCliSourceBucket": {"Type": "AWS::S3::Bucket", "Properties": {
            "PublicAccessBlockConfiguration": {"BlockPublicPolicy": "true", "BlockPublicAcls": "true",
                                               "IgnorePublicAcls": "true", "RestrictPublicBuckets": "true"},
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]},
            "VersioningConfiguration": {"Status": "Enabled"},
            "Tags": [{"Key": "ManagedStackSource", "Value": "AwsSamCli"}]}},
        "SamCliSourceBucketBucketPolicy": {"Type": "AWS::S3::BucketPolicy", "Properties": {
            "Bucket": {"Ref": "SamCliSourceBucket"},
            "PolicyDocument": {"Statement": [
                {"Action": ["s3:GetObject"], "Effect": "Allow", "Resource": _arn("/*"),
                 "Principal": {"Service": "serverlessrepo.amazonaws.com"},
                 "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}},
                {"Action": ["s3:*"], "Effect": "Deny", "Resource": [_arn(), _arn("/*")], "Principal": "*",
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}}},
    },
    "Outputs": {"SourceBucket": {"Value": {"Ref": "SamCliSourceBucket"}}},
}


def deploy_like_sam_cli(cfn: Any, stack_name: str, template: dict[str, Any]) -> dict[str, Any]:
    cfn.create_change_set(StackName=stack_name, TemplateBody=json.dumps(template), ChangeSetType="CREATE",
                          ChangeSetName="InitialCreation", Capabilities=["CAPABILITY_IAM"], Parameters=[],
                          Tags=[{"Key": "ManagedStackSource", "Value": "AwsSamCli"}])
    change_set = cfn.describe_change_set(ChangeSetName="InitialCreation", StackName=stack_name)
    assert change_set["Status"] == "CREATE_COMPLETE"
    cfn.execute_change_set(ChangeSetName="InitialCreation", StackName=stack_name)
    return cfn.describe_stacks(StackName=stack_name)["Stacks"][0]


def test_sam_managed_stack_deploys_and_its_bucket_takes_uploads_over_http(aws, aws_endpoint):
    cfn, s3 = aws("cloudformation", REGION), aws("s3", REGION)
    name = unique("aws-sam-cli-managed")
    stack = deploy_like_sam_cli(cfn, name, MANAGED_STACK)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    _check_sanity_of_stack(stack)  # SAM CLI's own check: raises unless Tags and Outputs are there

    bucket = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}["SourceBucket"]
    policy = cfn.describe_stack_resource(StackName=name, LogicalResourceId="SamCliSourceBucketBucketPolicy")
    assert policy["StackResourceDetail"]["PhysicalResourceId"] == bucket

    # `sam deploy` uploads its artifacts over the plain-HTTP loopback endpoint. In AWS the policy's
    # Deny on aws:SecureTransport=false would refuse that; moto would enforce an attached policy, so
    # the extension keeps the policy as a stack resource without attaching it to the bucket.
    assert aws_endpoint.url.startswith("http://")
    s3.put_object(Bucket=bucket, Key="artifacts/template.yaml", Body=b"Resources: {}\n")
    assert s3.get_object(Bucket=bucket, Key="artifacts/template.yaml")["Body"].read() == b"Resources: {}\n"
    try:
        s3.get_bucket_policy(Bucket=bucket)
        attached = True
    except ClientError as error:
        assert error.response["Error"]["Code"] == "NoSuchBucketPolicy"
        attached = False
    assert not attached


def test_a_bucket_policy_for_a_missing_bucket_fails_the_stack(aws, stacks):
    name, missing = unique("policy"), unique("no-such-bucket")
    template = {"Resources": {"Policy": {"Type": "AWS::S3::BucketPolicy", "Properties": {
        "Bucket": missing, "PolicyDocument": {"Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": f"arn:aws:s3:::{missing}/*"}]}}}}}
    assert stacks(REGION).create(name, template)["StackStatus"] == "ROLLBACK_COMPLETE"
    events = aws("cloudformation", REGION).describe_stack_events(StackName=name)["StackEvents"]
    assert [e["LogicalResourceId"] for e in events if e["ResourceStatus"] == "CREATE_FAILED"] == ["Policy"]
