use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::*;
use crate::attribution::event::values_at;

/// The provider schema's top-level attributes and blocks, by type.
fn schema() -> BTreeMap<String, BTreeSet<String>> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws-provider-schema.json");
    let text = std::fs::read_to_string(&path).expect("the provider schema fixture");
    let schema: Value = serde_json::from_str(&text).expect("the provider schema is JSON");
    let types = schema["resource_schemas"]
        .as_object()
        .expect("resource_schemas");
    types
        .iter()
        .map(|(name, s)| {
            let block = &s["block"];
            let names = ["attributes", "block_types"]
                .iter()
                .filter_map(|k| block[k].as_object())
                .flat_map(|o| o.keys().cloned())
                .collect();
            (name.clone(), names)
        })
        .collect()
}

fn supported_types() -> Vec<&'static str> {
    crate::aws::types::ALL
        .iter()
        .map(|d| d.rules.resource_type)
        .collect()
}

#[test]
fn every_type_has_a_create_a_delete_and_a_lookup() {
    let mut problems = Vec::new();
    for t in supported_types() {
        let rules: Vec<_> = rules_for(t).collect();
        for (effect, name) in [(Effect::Create, "Create"), (Effect::Delete, "Delete")] {
            if !rules.iter().any(|r| r.effect == effect) {
                problems.push(format!("{t}: no {name} rule"));
            }
        }
        if lookup_for(t).is_none() {
            problems.push(format!("{t}: no LOOKUPS entry"));
        }
    }
    let known: HashSet<_> = supported_types().into_iter().collect();
    for r in RULES.iter() {
        if !known.contains(r.resource_type) {
            problems.push(format!(
                "rule {} for unsupported type {}",
                r.event, r.resource_type
            ));
        }
    }
    for l in LOOKUPS.iter() {
        if !known.contains(l.resource_type) {
            problems.push(format!("lookup for unsupported type {}", l.resource_type));
        }
    }
    let mut seen = HashSet::new();
    for l in LOOKUPS.iter() {
        if !seen.insert(l.resource_type) {
            problems.push(format!("two lookups for {}", l.resource_type));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn no_rule_is_listed_twice() {
    let mut seen = HashSet::new();
    let dups: Vec<_> = RULES
        .iter()
        .filter(|r| {
            !seen.insert(format!(
                "{} {} {} {:?} {:?}",
                r.source, r.event, r.resource_type, r.effect, r.subject
            ))
        })
        .map(|r| format!("{} {} {:?}", r.event, r.resource_type, r.effect))
        .collect();
    assert!(dups.is_empty(), "{dups:#?}");
}

#[test]
fn attributes_exist_in_the_provider_schema() {
    let schema = schema();
    let mut problems = Vec::new();
    let known = |t: &str, a: &str| a == "id" || schema.get(t).is_some_and(|s| s.contains(a));
    for r in RULES.iter() {
        if let Effect::Modify(attrs) = r.effect {
            assert!(
                !attrs.is_empty(),
                "{} {}: Modify of nothing",
                r.event,
                r.resource_type
            );
            for a in attrs {
                if *a != "*" && !known(r.resource_type, a) {
                    problems.push(format!("{} {}: Modify({a})", r.event, r.resource_type));
                }
            }
        }
        assert!(
            !r.subject.is_empty(),
            "{} {}: a rule must name its resource",
            r.event,
            r.resource_type
        );
        for (path, a) in r.subject {
            if !known(r.resource_type, a) {
                problems.push(format!(
                    "{} {}: subject attribute {a}",
                    r.event, r.resource_type
                ));
            }
            let root = path.split('.').next().unwrap_or_default();
            if !["requestParameters", "responseElements", "resources[]"].contains(&root) {
                problems.push(format!("{} {}: path {path}", r.event, r.resource_type));
            }
        }
        if !r.source.ends_with(".amazonaws.com") {
            problems.push(format!(
                "{} {}: source {}",
                r.event, r.resource_type, r.source
            ));
        }
    }
    for l in LOOKUPS.iter() {
        assert!(
            !l.resource_names.is_empty(),
            "{}: no lookup name",
            l.resource_type
        );
        for a in l.resource_names {
            if !known(l.resource_type, a) {
                problems.push(format!("lookup {}: {a}", l.resource_type));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

// ---------------------------------------------------------------------------
// The real records in ../shared/corpus/cloudtrail

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/cloudtrail")
}

/// One record and the file it came from (relative to the corpus).
struct Record {
    file: String,
    /// The line, in files of one record a line; 0 otherwise.
    line: usize,
    raw: Value,
}

impl Record {
    fn text(&self, field: &str) -> &str {
        self.raw[field].as_str().unwrap_or_default()
    }
}

/// The records in a parsed document: a trail file's `Records`, an array, an
/// EventBridge envelope (the record in `detail`), or one record.
fn flatten(v: Value, out: &mut Vec<Value>) {
    match v {
        Value::Array(items) => items.into_iter().for_each(|i| flatten(i, out)),
        Value::Object(mut o) => {
            if let Some(records) = o.remove("Records") {
                flatten(records, out);
            } else if o
                .get("detail")
                .is_some_and(|d| d.get("eventName").is_some())
            {
                out.push(o.remove("detail").unwrap_or_default());
            } else if o.contains_key("eventName") {
                out.push(Value::Object(o));
            }
        }
        _ => {}
    }
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Every record, read once for all the tests.
static CORPUS: std::sync::LazyLock<Vec<Record>> = std::sync::LazyLock::new(read_corpus);

fn corpus() -> &'static [Record] {
    &CORPUS
}

fn read_corpus() -> Vec<Record> {
    let root = corpus_dir();
    let mut paths = Vec::new();
    files(&root, &mut paths);
    let mut records = Vec::new();
    for path in paths {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        // Gzipped trail files are read by the trail source's tests; the
        // index and LookupEvents answers are not records.
        if name.ends_with(".gz") || name == "index.json" || name.contains("lookup-events") {
            continue;
        }
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let file = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .display()
            .to_string();
        let mut values = Vec::new();
        match serde_json::from_str::<Value>(&text) {
            Ok(v) => flatten(v, &mut values),
            Err(_) => {
                for (n, line) in text
                    .lines()
                    .enumerate()
                    .filter(|(_, l)| !l.trim().is_empty())
                {
                    let v = serde_json::from_str(line)
                        .unwrap_or_else(|e| panic!("{}:{}: not JSON: {e}", path.display(), n + 1));
                    let mut one = Vec::new();
                    flatten(v, &mut one);
                    let file = &file;
                    records.extend(one.into_iter().map(|raw| Record {
                        file: file.clone(),
                        line: n + 1,
                        raw,
                    }));
                }
            }
        }
        records.extend(values.into_iter().map(|raw| Record {
            file: file.clone(),
            line: 0,
            raw,
        }));
    }
    assert!(
        records.len() > 3000,
        "only {} corpus records read",
        records.len()
    );
    records
}

fn succeeded(r: &Record) -> bool {
    r.raw
        .get("errorCode")
        .is_none_or(|c| c.is_null() || c == "")
}

/// Records of detection-rule tests whose authors cut `requestParameters`
/// down to what their rule reads (panther-analysis: "values were
/// sanitised/edited by rule authors"): they name no resource at all, so no
/// path can find one. Listed by line, with what is missing.
#[rustfmt::skip]
const TRIMMED_RECORDS: &[(&str, usize, &str)] = &[
    ("panther-analysis-tests/records.jsonl", 160, "UpdateAssumeRolePolicy without roleName"),
    ("panther-analysis-tests/records.jsonl", 161, "UpdateAssumeRolePolicy without roleName"),
    ("panther-analysis-tests/records.jsonl", 162, "UpdateAssumeRolePolicy, requestParameters {}"),
    ("panther-analysis-tests/records.jsonl", 204, "PutUserPolicy, requestParameters null"),
    ("panther-analysis-tests/records.jsonl", 208, "ScheduleKeyDeletion, resources removed (line 206 is the whole record)"),
    ("panther-analysis-tests/records.jsonl", 304, "PutBucketPolicy, requestParameters null"),
    ("panther-analysis-tests/records.jsonl", 307, "PutBucketPolicy without bucketName"),
    ("panther-analysis-tests/records.jsonl", 310, "PutKeyPolicy without keyId or resources"),
    ("panther-analysis-tests/records.jsonl", 311, "SetQueueAttributes without queueUrl"),
    ("panther-analysis-tests/records.jsonl", 312, "PutBucketPolicy without bucketName"),
    ("panther-analysis-tests/records.jsonl", 314, "PutKeyPolicy, resources in Panther's normalised form (lowercase arn)"),
];

fn trimmed(r: &Record) -> bool {
    TRIMMED_RECORDS
        .iter()
        .any(|(file, line, _)| r.file == *file && r.line == *line)
}

#[test]
fn subject_paths_find_values_in_real_records() {
    let mut failures = BTreeSet::new();
    let mut checked = 0;
    for record in corpus().iter().filter(|r| succeeded(r) && !trimmed(r)) {
        let (source, name) = (record.text("eventSource"), record.text("eventName"));
        for rule in RULES
            .iter()
            .filter(|r| r.source == source && r.event == name)
        {
            checked += 1;
            for (path, attr) in rule.subject {
                if values_at(&record.raw, path).is_empty() {
                    failures.insert(format!(
                        "{name} → {} ({attr} at {path}): nothing in {}:{} (event {})",
                        rule.resource_type,
                        record.file,
                        record.line,
                        record.text("eventID")
                    ));
                }
            }
        }
    }
    assert!(checked > 300, "only {checked} rule × record pairs checked");
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Events the table has rules for that no successful record in the corpus
/// shows, with where their name and fields were confirmed instead. An event
/// that appears in the corpus must leave this list (the corpus check then
/// covers it); every other event must be on it.
#[rustfmt::skip]
const NOT_IN_CORPUS: &[(&str, &str, &str)] = &[
    // -- confirmed from AWS's documented example records or event-name lists
    ("kms.amazonaws.com", "CreateKey", "documented: KMS guide, CreateKey example"),
    ("kms.amazonaws.com", "CancelKeyDeletion", "documented: KMS guide, CancelKeyDeletion example"),
    ("kms.amazonaws.com", "EnableKey", "documented: KMS guide, EnableKey example"),
    ("kms.amazonaws.com", "EnableKeyRotation", "documented: KMS guide, EnableKeyRotation example"),
    ("kms.amazonaws.com", "DisableKeyRotation", "documented: KMS guide, DisableKeyRotation example"),
    ("kms.amazonaws.com", "UpdateKeyDescription", "documented: KMS guide, UpdateKeyDescription example"),
    ("kms.amazonaws.com", "TagResource", "documented: KMS guide, TagResource example"),
    ("kms.amazonaws.com", "UntagResource", "documented: KMS guide, UntagResource example"),
    ("kms.amazonaws.com", "CreateAlias", "documented: KMS guide, CreateAlias example"),
    ("kms.amazonaws.com", "DeleteAlias", "documented: KMS guide, DeleteAlias example"),
    ("kms.amazonaws.com", "UpdateAlias", "documented: KMS guide, UpdateAlias example"),
    ("lambda.amazonaws.com", "PublishVersion20150331", "documented: Lambda guide's event-name list; functionName as in every Lambda record"),
    ("lambda.amazonaws.com", "PutFunctionConcurrency20171031", "documented: Lambda guide's event-name list; functionName as in every Lambda record"),
    ("lambda.amazonaws.com", "DeleteFunctionConcurrency20171031", "documented: Lambda guide's event-name list; functionName as in every Lambda record"),
    ("lambda.amazonaws.com", "TagResource20170331v2", "documented: Lambda guide's event-name list; requestParameters.resource from a public record"),
    ("lambda.amazonaws.com", "UntagResource20170331v2", "documented: Lambda guide's event-name list; requestParameters.resource as TagResource"),
    ("route53.amazonaws.com", "ChangeResourceRecordSets", "documented: Route 53 guide, ChangeResourceRecordSets example"),
    ("route53.amazonaws.com", "DeleteHostedZone", "documented: Route 53 guide, DeleteHostedZone example"),
    ("dynamodb.amazonaws.com", "DeleteTable", "documented: DynamoDB guide, DeleteTable example"),
    ("dynamodb.amazonaws.com", "UpdateTable", "documented: DynamoDB guide, UpdateTable example (no tableName in the request, in the response)"),
    ("sqs.amazonaws.com", "CreateQueue", "documented: SQS guide, CreateQueue example"),
    ("sqs.amazonaws.com", "DeleteQueue", "documented: SQS guide, DeleteQueue example"),
    ("sns.amazonaws.com", "CreateTopic", "documented: Lambda guide's CloudTrail tutorial, CreateTopic example"),
    ("ecr.amazonaws.com", "CreateRepository", "documented: ECR guide, CreateRepository example"),
    ("s3.amazonaws.com", "PutBucketWebsite", "documented: S3 guide's bucket-level event names; bucketName as in every bucket-level record"),
    ("s3.amazonaws.com", "DeleteBucketWebsite", "documented: S3 guide's bucket-level event names; bucketName as in every bucket-level record"),
    ("s3.amazonaws.com", "PutBucketCors", "documented: S3 guide's bucket-level event names; bucketName as in every bucket-level record"),
    ("s3.amazonaws.com", "DeleteBucketCors", "documented: S3 guide's bucket-level event names; bucketName as in every bucket-level record"),
    ("s3.amazonaws.com", "PutBucketRequestPayment", "documented: S3 guide's bucket-level event names; bucketName as in every bucket-level record"),
    ("s3.amazonaws.com", "DeleteBucketTagging", "documented: S3 guide's bucket-level event names; bucketName as in every bucket-level record"),
    // -- seen in public records outside the corpus (tool test data, write-ups)
    ("ec2.amazonaws.com", "DeleteNetworkAcl", "public record: elastic/integrations test-delete-network-acl-json.log"),
    ("ec2.amazonaws.com", "DeleteNetworkAclEntry", "public record: elastic/integrations test-delete-network-acl-entry-json.log"),
    ("ec2.amazonaws.com", "ModifySecurityGroupRules", "public records: ModifySecurityGroupRulesRequest.GroupId / SecurityGroupRule.SecurityGroupRuleId in several remediation tools' tests"),
    ("ec2.amazonaws.com", "ModifyInstanceMetadataOptions", "public write-up of real records: requestParameters.ModifyInstanceMetadataOptionsRequest"),
    ("ec2.amazonaws.com", "CreateLaunchTemplate", "public record: CreateLaunchTemplateRequest.LaunchTemplateName in a Terraform incident write-up"),
    ("iam.amazonaws.com", "CreateGroup", "public record: elastic/integrations test-create-group-json.log"),
    ("iam.amazonaws.com", "UpdateGroup", "public record: elastic/integrations test-update-group-json.log"),
    ("iam.amazonaws.com", "UpdateUser", "public record: elastic/integrations test-update-user-json.log"),
    ("iam.amazonaws.com", "TagRole", "public record: ConsoleMe/Noq test event, requestParameters.roleName"),
    // -- unconfirmed: the request member of the API reference, in the shape the
    //    service's confirmed records have; no record of the event itself found
    ("ec2.amazonaws.com", "ModifyVpcAttribute", "unconfirmed: vpcId as DeleteVpc"),
    ("ec2.amazonaws.com", "AssociateDhcpOptions", "unconfirmed: vpcId as DeleteVpc"),
    ("ec2.amazonaws.com", "DeleteTags", "unconfirmed: resourcesSet as CreateTags"),
    ("ec2.amazonaws.com", "ModifySubnetAttribute", "unconfirmed: subnetId as DeleteSubnet"),
    ("ec2.amazonaws.com", "ReplaceRoute", "unconfirmed: routeTableId, destinationCidrBlock as CreateRoute"),
    ("ec2.amazonaws.com", "EnableVgwRoutePropagation", "unconfirmed: routeTableId as CreateRoute"),
    ("ec2.amazonaws.com", "DisableVgwRoutePropagation", "unconfirmed: routeTableId as CreateRoute"),
    ("ec2.amazonaws.com", "ReplaceRouteTableAssociation", "unconfirmed: associationId as DisassociateRouteTable, newAssociationId from the API"),
    ("ec2.amazonaws.com", "CreateNetworkAcl", "unconfirmed: responseElements.networkAcl.networkAclId as CreateRouteTable's routeTable"),
    ("ec2.amazonaws.com", "ReplaceNetworkAclEntry", "unconfirmed: networkAclId as CreateNetworkAclEntry"),
    ("ec2.amazonaws.com", "ReplaceNetworkAclAssociation", "unconfirmed: networkAclId as CreateNetworkAclEntry"),
    ("ec2.amazonaws.com", "AssociateAddress", "unconfirmed: allocationId as ReleaseAddress"),
    ("ec2.amazonaws.com", "DisassociateAddress", "unconfirmed: associationId from the API"),
    ("ec2.amazonaws.com", "UpdateSecurityGroupRuleDescriptionsIngress", "unconfirmed: groupId as AuthorizeSecurityGroupIngress"),
    ("ec2.amazonaws.com", "UpdateSecurityGroupRuleDescriptionsEgress", "unconfirmed: groupId as AuthorizeSecurityGroupEgress"),
    ("ec2.amazonaws.com", "MonitorInstances", "unconfirmed: instancesSet as StopInstances"),
    ("ec2.amazonaws.com", "UnmonitorInstances", "unconfirmed: instancesSet as StopInstances"),
    ("ec2.amazonaws.com", "DeleteLaunchTemplate", "unconfirmed: DeleteLaunchTemplateRequest wrapper as CreateLaunchTemplateRequest"),
    ("ec2.amazonaws.com", "CreateLaunchTemplateVersion", "unconfirmed: CreateLaunchTemplateVersionRequest wrapper as CreateLaunchTemplateRequest"),
    ("ec2.amazonaws.com", "ModifyLaunchTemplate", "unconfirmed: ModifyLaunchTemplateRequest wrapper as CreateLaunchTemplateRequest"),
    ("ec2.amazonaws.com", "ImportKeyPair", "unconfirmed: keyName as CreateKeyPair"),
    ("ec2.amazonaws.com", "DeleteKeyPair", "unconfirmed: keyName as CreateKeyPair"),
    ("iam.amazonaws.com", "UpdateRole", "unconfirmed: roleName as every role call"),
    ("iam.amazonaws.com", "UpdateRoleDescription", "unconfirmed: roleName as every role call"),
    ("iam.amazonaws.com", "PutRolePermissionsBoundary", "unconfirmed: roleName as every role call"),
    ("iam.amazonaws.com", "DeleteRolePermissionsBoundary", "unconfirmed: roleName as every role call"),
    ("iam.amazonaws.com", "UntagRole", "unconfirmed: roleName as TagRole"),
    ("iam.amazonaws.com", "CreatePolicyVersion", "unconfirmed: policyArn as DeletePolicy"),
    ("iam.amazonaws.com", "SetDefaultPolicyVersion", "unconfirmed: policyArn as DeletePolicy"),
    ("iam.amazonaws.com", "TagPolicy", "unconfirmed: policyArn as DeletePolicy"),
    ("iam.amazonaws.com", "UntagPolicy", "unconfirmed: policyArn as DeletePolicy"),
    ("iam.amazonaws.com", "PutUserPermissionsBoundary", "unconfirmed: userName as every user call"),
    ("iam.amazonaws.com", "DeleteUserPermissionsBoundary", "unconfirmed: userName as every user call"),
    ("iam.amazonaws.com", "TagUser", "unconfirmed: userName as every user call"),
    ("iam.amazonaws.com", "UntagUser", "unconfirmed: userName as every user call"),
    ("iam.amazonaws.com", "DeleteUserPolicy", "unconfirmed: userName, policyName as PutUserPolicy"),
    ("iam.amazonaws.com", "DeleteGroup", "unconfirmed: groupName as CreateGroup"),
    ("iam.amazonaws.com", "UntagInstanceProfile", "unconfirmed: instanceProfileName as TagInstanceProfile"),
    ("iam.amazonaws.com", "CreateOpenIDConnectProvider", "unconfirmed: responseElements.openIDConnectProviderArn from the API"),
    ("iam.amazonaws.com", "DeleteOpenIDConnectProvider", "unconfirmed: openIDConnectProviderArn from the API"),
    ("iam.amazonaws.com", "UpdateOpenIDConnectProviderThumbprint", "unconfirmed: openIDConnectProviderArn from the API"),
    ("iam.amazonaws.com", "AddClientIDToOpenIDConnectProvider", "unconfirmed: openIDConnectProviderArn from the API"),
    ("iam.amazonaws.com", "RemoveClientIDFromOpenIDConnectProvider", "unconfirmed: openIDConnectProviderArn from the API"),
    ("iam.amazonaws.com", "TagOpenIDConnectProvider", "unconfirmed: openIDConnectProviderArn from the API"),
    ("iam.amazonaws.com", "UntagOpenIDConnectProvider", "unconfirmed: openIDConnectProviderArn from the API"),
    ("rds.amazonaws.com", "RestoreDBInstanceToPointInTime", "unconfirmed: targetDBInstanceIdentifier from the API"),
    ("rds.amazonaws.com", "AddTagsToResource", "unconfirmed: resourceName (the ARN) from the API"),
    ("rds.amazonaws.com", "RemoveTagsFromResource", "unconfirmed: resourceName (the ARN) from the API"),
    ("rds.amazonaws.com", "DeleteDBSubnetGroup", "unconfirmed: dBSubnetGroupName as CreateDBSubnetGroup"),
    ("rds.amazonaws.com", "ModifyDBSubnetGroup", "unconfirmed: dBSubnetGroupName as CreateDBSubnetGroup"),
    ("rds.amazonaws.com", "CreateDBParameterGroup", "unconfirmed: dBParameterGroupName from the API, cased as RDS records are"),
    ("rds.amazonaws.com", "DeleteDBParameterGroup", "unconfirmed: dBParameterGroupName from the API, cased as RDS records are"),
    ("rds.amazonaws.com", "ModifyDBParameterGroup", "unconfirmed: dBParameterGroupName from the API, cased as RDS records are"),
    ("rds.amazonaws.com", "ResetDBParameterGroup", "unconfirmed: dBParameterGroupName from the API, cased as RDS records are"),
    ("rds.amazonaws.com", "CreateDBCluster", "unconfirmed: dBClusterIdentifier as DeleteDBCluster"),
    ("rds.amazonaws.com", "RestoreDBClusterFromSnapshot", "unconfirmed: dBClusterIdentifier as DeleteDBCluster"),
    ("rds.amazonaws.com", "RestoreDBClusterToPointInTime", "unconfirmed: dBClusterIdentifier as DeleteDBCluster"),
    ("rds.amazonaws.com", "RemoveRoleFromDBCluster", "unconfirmed: dBClusterIdentifier as AddRoleToDBCluster"),
    ("lambda.amazonaws.com", "PutFunctionCodeSigningConfig", "unconfirmed: functionName as every Lambda call"),
    ("lambda.amazonaws.com", "DeleteFunctionCodeSigningConfig", "unconfirmed: functionName as every Lambda call"),
    ("logs.amazonaws.com", "PutRetentionPolicy", "unconfirmed: logGroupName as CreateLogGroup"),
    ("logs.amazonaws.com", "DeleteRetentionPolicy", "unconfirmed: logGroupName as CreateLogGroup"),
    ("logs.amazonaws.com", "AssociateKmsKey", "unconfirmed: logGroupName as CreateLogGroup"),
    ("logs.amazonaws.com", "DisassociateKmsKey", "unconfirmed: logGroupName as CreateLogGroup"),
    ("logs.amazonaws.com", "TagLogGroup", "unconfirmed: logGroupName as CreateLogGroup"),
    ("logs.amazonaws.com", "UntagLogGroup", "unconfirmed: logGroupName as CreateLogGroup"),
    ("logs.amazonaws.com", "TagResource", "unconfirmed: resourceArn from the API"),
    ("logs.amazonaws.com", "UntagResource", "unconfirmed: resourceArn from the API"),
    ("elasticloadbalancing.amazonaws.com", "CreateLoadBalancer", "unconfirmed: responseElements.loadBalancers[].loadBalancerArn from the API"),
    ("elasticloadbalancing.amazonaws.com", "DeleteLoadBalancer", "unconfirmed: loadBalancerArn from the API"),
    ("elasticloadbalancing.amazonaws.com", "ModifyLoadBalancerAttributes", "unconfirmed: loadBalancerArn from the API"),
    ("elasticloadbalancing.amazonaws.com", "SetSecurityGroups", "unconfirmed: loadBalancerArn from the API"),
    ("elasticloadbalancing.amazonaws.com", "SetSubnets", "unconfirmed: loadBalancerArn from the API"),
    ("elasticloadbalancing.amazonaws.com", "SetIpAddressType", "unconfirmed: loadBalancerArn from the API"),
    ("elasticloadbalancing.amazonaws.com", "RemoveTags", "unconfirmed: resourceArns as AddTags"),
    ("elasticloadbalancing.amazonaws.com", "CreateTargetGroup", "unconfirmed: responseElements.targetGroups[].targetGroupArn from the API"),
    ("elasticloadbalancing.amazonaws.com", "DeleteTargetGroup", "unconfirmed: targetGroupArn from the API"),
    ("elasticloadbalancing.amazonaws.com", "ModifyTargetGroup", "unconfirmed: targetGroupArn from the API"),
    ("elasticloadbalancing.amazonaws.com", "ModifyTargetGroupAttributes", "unconfirmed: targetGroupArn from the API"),
    ("elasticloadbalancing.amazonaws.com", "CreateListener", "unconfirmed: responseElements.listeners[].listenerArn from the API"),
    ("elasticloadbalancing.amazonaws.com", "DeleteListener", "unconfirmed: listenerArn from the API"),
    ("elasticloadbalancing.amazonaws.com", "ModifyListener", "unconfirmed: listenerArn from the API"),
    ("elasticloadbalancing.amazonaws.com", "ModifyListenerAttributes", "unconfirmed: listenerArn from the API"),
    ("route53.amazonaws.com", "CreateHostedZone", "unconfirmed: requestParameters.name from the API"),
    ("route53.amazonaws.com", "UpdateHostedZoneComment", "unconfirmed: id as DeleteHostedZone"),
    ("route53.amazonaws.com", "AssociateVPCWithHostedZone", "unconfirmed: hostedZoneId as ChangeResourceRecordSets"),
    ("route53.amazonaws.com", "DisassociateVPCFromHostedZone", "unconfirmed: hostedZoneId as ChangeResourceRecordSets"),
    ("route53.amazonaws.com", "ChangeTagsForResource", "unconfirmed: resourceId from the API"),
    ("dynamodb.amazonaws.com", "CreateTable", "unconfirmed: responseElements.tableDescription as UpdateTable"),
    ("dynamodb.amazonaws.com", "UpdateTimeToLive", "unconfirmed: tableName as DeleteTable"),
    ("dynamodb.amazonaws.com", "UpdateContinuousBackups", "unconfirmed: tableName as DeleteTable"),
    ("dynamodb.amazonaws.com", "TagResource", "unconfirmed: resourceArn from the API"),
    ("dynamodb.amazonaws.com", "UntagResource", "unconfirmed: resourceArn from the API"),
    ("sqs.amazonaws.com", "TagQueue", "unconfirmed: queueUrl as DeleteQueue"),
    ("sqs.amazonaws.com", "UntagQueue", "unconfirmed: queueUrl as DeleteQueue"),
    ("sns.amazonaws.com", "DeleteTopic", "unconfirmed: topicArn from the API"),
    ("sns.amazonaws.com", "SetTopicAttributes", "unconfirmed: topicArn from the API"),
    ("sns.amazonaws.com", "TagResource", "unconfirmed: resourceArn from the API"),
    ("sns.amazonaws.com", "UntagResource", "unconfirmed: resourceArn from the API"),
    ("ecr.amazonaws.com", "DeleteRepository", "unconfirmed: repositoryName as CreateRepository"),
    ("ecr.amazonaws.com", "PutImageTagMutability", "unconfirmed: repositoryName as CreateRepository"),
    ("ecr.amazonaws.com", "PutImageScanningConfiguration", "unconfirmed: repositoryName as CreateRepository"),
    ("ecr.amazonaws.com", "TagResource", "unconfirmed: resourceArn from the API"),
    ("ecr.amazonaws.com", "UntagResource", "unconfirmed: resourceArn from the API"),
];

#[test]
fn every_event_is_in_the_corpus_or_accounted_for() {
    let in_corpus: HashSet<(String, String)> = corpus()
        .iter()
        .filter(|r| succeeded(r))
        .map(|r| {
            (
                r.text("eventSource").to_string(),
                r.text("eventName").to_string(),
            )
        })
        .collect();
    let listed: HashSet<(&str, &str)> = NOT_IN_CORPUS.iter().map(|(s, e, _)| (*s, *e)).collect();
    assert_eq!(
        listed.len(),
        NOT_IN_CORPUS.len(),
        "NOT_IN_CORPUS lists an event twice"
    );
    let mut problems = BTreeSet::new();
    for r in RULES.iter() {
        let seen = in_corpus.contains(&(r.source.to_string(), r.event.to_string()));
        if !seen && !listed.contains(&(r.source, r.event)) {
            problems.insert(format!(
                "{} {}: not in the corpus, not in NOT_IN_CORPUS",
                r.source, r.event
            ));
        }
    }
    for (source, event, _) in NOT_IN_CORPUS {
        if in_corpus.contains(&(source.to_string(), event.to_string())) {
            problems.insert(format!(
                "{source} {event}: in the corpus now, leave NOT_IN_CORPUS"
            ));
        }
        if !RULES
            .iter()
            .any(|r| r.source == *source && r.event == *event)
        {
            problems.insert(format!("{source} {event}: in NOT_IN_CORPUS without a rule"));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

// ---------------------------------------------------------------------------
// Hand-picked real records

fn record(file: &str, event: &str, id: &str) -> Value {
    let found: Vec<_> = corpus()
        .iter()
        .filter(|r| r.file == file && r.text("eventName") == event && r.text("eventID") == id)
        .collect();
    assert_eq!(found.len(), 1, "{file} {event} {id}");
    found[0].raw.clone()
}

/// The rules of `resource_type` whose every subject binding holds for this
/// record and this resource: the rules by which the event explains the
/// resource's drift.
fn explaining(raw: &Value, resource_type: &str, resource: &Value) -> Vec<Effect> {
    let (source, name) = (
        raw["eventSource"].as_str().unwrap_or_default(),
        raw["eventName"].as_str().unwrap_or_default(),
    );
    rules_for(resource_type)
        .filter(|r| r.source == source && r.event == name)
        .filter(|r| {
            r.subject.iter().all(|(path, attr)| {
                resource[attr]
                    .as_str()
                    .is_some_and(|want| values_at(raw, path).iter().any(|v| v == want))
            })
        })
        .map(|r| r.effect)
        .collect()
}

const INVICTUS_SG: &str =
    "invictus-aws-dataset/218007301253_CloudTrail_us-east-1_20230710T1215Z_YMDRJwtmC82bUwAo.json";

#[test]
fn the_out_of_band_ingress_rule_changes_its_group() {
    // Stratus Red Team opens port 22 on the group Terraform created.
    let event = record(
        INVICTUS_SG,
        "AuthorizeSecurityGroupIngress",
        "74bd84b4-6729-4895-b2a4-e2beb7c6b377",
    );
    let group = json!({"id": "sg-04cfb7a4712d75b00"});
    assert_eq!(
        explaining(&event, "aws_security_group", &group),
        [Effect::Modify(&["ingress"])]
    );
    let rule = json!({"id": "sgr-0a11552a7d225f5c7", "security_group_id": "sg-04cfb7a4712d75b00"});
    assert_eq!(
        explaining(&event, "aws_vpc_security_group_ingress_rule", &rule),
        [Effect::Create]
    );
    assert!(explaining(&event, "aws_vpc_security_group_egress_rule", &rule).is_empty());
    assert!(
        explaining(
            &event,
            "aws_security_group",
            &json!({"id": "sg-0a1ae80d31d1e9c86"})
        )
        .is_empty()
    );
}

#[test]
fn a_deleted_group_takes_its_rules() {
    let event = record(
        INVICTUS_SG,
        "DeleteSecurityGroup",
        "9606afeb-3e3a-4f54-88ad-556e3d02d102",
    );
    let rule = json!({"id": "sgrule-1", "security_group_id": "sg-04cfb7a4712d75b00"});
    assert_eq!(
        explaining(&event, "aws_security_group_rule", &rule),
        [Effect::Delete]
    );
    assert_eq!(
        explaining(
            &event,
            "aws_security_group",
            &json!({"id": "sg-04cfb7a4712d75b00"})
        ),
        [Effect::Delete]
    );
}

#[test]
fn tagging_an_image_explains_no_group() {
    let event = record(
        INVICTUS_SG,
        "CreateTags",
        "166db627-7c52-4552-ac56-5aad1d09bde8",
    );
    assert!(
        explaining(
            &event,
            "aws_security_group",
            &json!({"id": "sg-04cfb7a4712d75b00"})
        )
        .is_empty()
    );
    assert_eq!(
        explaining(
            &event,
            "aws_instance",
            &json!({"id": "ami-0aa1d83d0b0985c86"})
        ),
        [TAGS],
        "the tag rule reads the tagged ids"
    );
}

#[test]
fn launching_an_instance_changes_no_group() {
    let event = record(
        "invictus-aws-dataset/218007301253_CloudTrail_us-east-1_20230710T1200Z_x9kHmzMa7cx6l9wM.json",
        "RunInstances",
        "86eac0ac-8521-4126-aa32-a22f2b74d02e",
    );
    let ids = values_at(&event, "responseElements.instancesSet.items[].instanceId");
    assert_eq!(ids.len(), 1);
    assert_eq!(
        explaining(&event, "aws_instance", &json!({"id": ids[0]})),
        [Effect::Create]
    );
    let groups = values_at(
        &event,
        "responseElements.instancesSet.items[].groupSet.items[].groupId",
    );
    assert!(!groups.is_empty(), "the record names the instance's groups");
    for group in groups {
        assert!(explaining(&event, "aws_security_group", &json!({"id": group})).is_empty());
    }
}

#[test]
fn suspending_versioning_changes_the_bucket_and_its_versioning() {
    let event = record(
        "panther-analysis-tests/records.jsonl",
        "PutBucketVersioning",
        "12345678-1234-1234-1234-222222222222",
    );
    let versioning = json!({"id": "critical-data-bucket", "bucket": "critical-data-bucket"});
    assert_eq!(
        explaining(&event, "aws_s3_bucket_versioning", &versioning),
        [
            Effect::Create,
            Effect::Modify(&["versioning_configuration"])
        ]
    );
    assert_eq!(
        explaining(&event, "aws_s3_bucket", &versioning),
        [Effect::Modify(&["versioning"])]
    );
    assert!(explaining(&event, "aws_s3_bucket", &json!({"id": "other-bucket"})).is_empty());
}

#[test]
fn an_inline_role_policy_is_named_by_role_and_policy() {
    let event = record(
        "invictus-aws-dataset/218007301253_CloudTrail_us-east-1_20230710T1200Z_iLj9fb7yyUG9X4Bf.json",
        "PutRolePolicy",
        "6c1eed73-00ee-4810-8009-c9ce5990c100",
    );
    let policy = json!({
        "id": "stratus-red-team-ec2-get-password-data-role:inline-policy",
        "role": "stratus-red-team-ec2-get-password-data-role",
        "name": "inline-policy",
    });
    assert_eq!(
        explaining(&event, "aws_iam_role_policy", &policy),
        [Effect::Create, Effect::Modify(&["policy"])]
    );
    let other = json!({"role": "stratus-red-team-ec2-get-password-data-role", "name": "another"});
    assert!(explaining(&event, "aws_iam_role_policy", &other).is_empty());
    let role = json!({"id": "stratus-red-team-ec2-get-password-data-role"});
    assert_eq!(
        explaining(&event, "aws_iam_role", &role),
        [Effect::Modify(&["inline_policy"])]
    );
}

#[test]
fn db_instances_are_named_by_identifier() {
    let modified = record(
        "elastic-integrations-tests/test-modify-db-instance-json.log",
        "ModifyDBInstance",
        "47bea7f3-8517-48d3-be30-16de2421ff49",
    );
    let db =
        json!({"id": "db-ABCDEFGHIJKLMNOP", "identifier": "test-cloudtrail-event-instance-31611"});
    assert!(matches!(
        explaining(&modified, "aws_db_instance", &db)[..],
        [Effect::Modify(_)]
    ));

    // The console deletes the instance Terraform created.
    let deleted = record(
        "invictus-aws-dataset/218007301253_CloudTrail_us-east-1_20230710T1230Z_lHgkh3VeI3XnjZSL.json",
        "DeleteDBInstance",
        "b5232796-c668-4d71-a006-d9cabb3d607d",
    );
    let db = json!({"id": "db-XYZ", "identifier": "terraform-20230710121504061500000001"});
    assert_eq!(
        explaining(&deleted, "aws_db_instance", &db),
        [Effect::Delete]
    );
    assert!(
        explaining(
            &deleted,
            "aws_db_instance",
            &json!({"identifier": "another"})
        )
        .is_empty()
    );
}
