"""The baseline of the AWS scan benchmark (benches/aws_scan.rs): a plain
sequential boto3 script that makes the same read calls `driftd scan` makes for
the benchmark account, one after the other, the way a simple inventory script
would: every list call paged to the end, then the per-resource detail calls the
APIs force. It keeps what it reads in memory and prints a count.

Usage: python baseline_scan.py ENDPOINT_URL   (credentials and region from the environment)
"""

import sys

import boto3
from botocore.config import Config

endpoint = sys.argv[1]
config = Config(retries={"mode": "standard", "max_attempts": 5}, s3={"addressing_style": "path"})


def client(service):
    return boto3.client(service, endpoint_url=endpoint, config=config)


def pages(c, operation, key, **kwargs):
    out = []
    for page in c.get_paginator(operation).paginate(**kwargs):
        out.extend(page.get(key, []))
    return out


read = 0

client("sts").get_caller_identity()

# EC2 / VPC
ec2 = client("ec2")
vpcs = pages(ec2, "describe_vpcs", "Vpcs")
for vpc in vpcs:
    for attribute in ("enableDnsSupport", "enableDnsHostnames", "enableNetworkAddressUsageMetrics"):
        ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute=attribute)
read += len(vpcs)
read += len(pages(ec2, "describe_subnets", "Subnets"))
read += len(pages(ec2, "describe_internet_gateways", "InternetGateways"))
read += len(pages(ec2, "describe_route_tables", "RouteTables"))
read += len(pages(ec2, "describe_network_acls", "NetworkAcls"))
read += len(pages(ec2, "describe_security_groups", "SecurityGroups"))
read += len(pages(ec2, "describe_security_group_rules", "SecurityGroupRules"))
read += len(ec2.describe_addresses()["Addresses"])
read += len(pages(ec2, "describe_nat_gateways", "NatGateways"))
instances = [
    i
    for r in pages(ec2, "describe_instances", "Reservations")
    for i in r["Instances"]
    if i["State"]["Name"] != "terminated"
]
for instance in instances:
    for attribute in ("disableApiTermination", "disableApiStop", "instanceInitiatedShutdownBehavior", "userData"):
        ec2.describe_instance_attribute(InstanceId=instance["InstanceId"], Attribute=attribute)
burstable = [i["InstanceId"] for i in instances if i["InstanceType"].split(".")[0] in ("t2", "t3", "t3a", "t4g")]
if burstable:
    ec2.describe_instance_credit_specifications(InstanceIds=burstable)
read += len(instances)
read += len(pages(ec2, "describe_volumes", "Volumes"))
templates = pages(ec2, "describe_launch_templates", "LaunchTemplates")
if templates:
    pages(ec2, "describe_launch_template_versions", "LaunchTemplateVersions", Versions=["$Latest"])
read += len(templates)
read += len(ec2.describe_key_pairs(IncludePublicKey=True)["KeyPairs"])

# IAM
iam = client("iam")
details = {"RoleDetailList": [], "UserDetailList": [], "Policies": []}
for page in iam.get_paginator("get_account_authorization_details").paginate(
    Filter=["Role", "User", "LocalManagedPolicy"]
):
    for k in details:
        details[k].extend(page.get(k, []))
read += sum(len(v) for v in details.values())
pages(iam, "list_roles", "Roles")
policies = pages(iam, "list_policies", "Policies", Scope="Local")
for policy in policies:
    iam.list_policy_tags(PolicyArn=policy["Arn"])
read += len(pages(iam, "list_groups", "Groups"))
profiles = pages(iam, "list_instance_profiles", "InstanceProfiles")
for profile in profiles:
    iam.get_instance_profile(InstanceProfileName=profile["InstanceProfileName"])
read += len(profiles)
read += len(iam.list_open_id_connect_providers()["OpenIDConnectProviderList"])

# S3: every bucket's configurations, one call each.
s3 = client("s3")
buckets = s3.list_buckets()["Buckets"]
for bucket in buckets:
    name = bucket["Name"]
    for call in (
        s3.get_bucket_location,
        s3.get_bucket_acl,
        s3.get_bucket_accelerate_configuration,
        s3.get_bucket_cors,
        s3.get_bucket_encryption,
        s3.get_bucket_lifecycle_configuration,
        s3.get_bucket_logging,
        s3.get_object_lock_configuration,
        s3.get_bucket_policy,
        s3.get_public_access_block,
        s3.get_bucket_replication,
        s3.get_bucket_request_payment,
        s3.get_bucket_tagging,
        s3.get_bucket_versioning,
        s3.get_bucket_website,
    ):
        try:
            call(Bucket=name)
        except Exception:  # an unset configuration answers with an error: none
            pass
read += len(buckets)

# The other services: their list calls (the benchmark account has none of them).
rds = client("rds")
read += len(pages(rds, "describe_db_instances", "DBInstances"))
read += len(pages(rds, "describe_db_clusters", "DBClusters"))
read += len(pages(rds, "describe_db_subnet_groups", "DBSubnetGroups"))
read += len(pages(rds, "describe_db_parameter_groups", "DBParameterGroups"))
kms = client("kms")
read += len(pages(kms, "list_keys", "Keys"))
read += len(pages(kms, "list_aliases", "Aliases"))
read += len(pages(client("lambda"), "list_functions", "Functions", FunctionVersion="ALL"))
elb = client("elbv2")
read += len(pages(elb, "describe_load_balancers", "LoadBalancers"))
read += len(pages(elb, "describe_target_groups", "TargetGroups"))
read += len(pages(client("logs"), "describe_log_groups", "logGroups"))
read += len(pages(client("route53"), "list_hosted_zones", "HostedZones"))
read += len(pages(client("dynamodb"), "list_tables", "TableNames"))
read += len(client("sqs").list_queues().get("QueueUrls", []))
read += len(pages(client("sns"), "list_topics", "Topics"))
read += len(pages(client("ecr"), "describe_repositories", "repositories"))

print(f"baseline: read {read} objects", file=sys.stderr)
