//! S3: buckets, and the four bucket sub-resources driftd compares on their own
//! (`aws_s3_bucket_policy`, `aws_s3_bucket_versioning`,
//! `aws_s3_bucket_server_side_encryption_configuration`,
//! `aws_s3_bucket_public_access_block`).
//!
//! `ListBuckets` is account-wide, but a bucket lives in one region: each
//! region's listing keeps only its own buckets (the `BucketRegion` of the
//! answer, asked for with the `bucket-region` filter; where an endpoint leaves
//! it out, as moto 5.1.22 does, `GetBucketLocation`), so a multi-region scan
//! lists every bucket once, in its region. The per-bucket `Get*` calls go
//! through [`RegionContext::shared`]: `aws_s3_bucket` and
//! `aws_s3_bucket_versioning` read one `GetBucketVersioning` answer, and so on.
//!
//! An absent configuration comes back from S3 as an error
//! (`NoSuchBucketPolicy`, `NoSuchTagSet`, …): it means "none". A bucket deleted
//! between `ListBuckets` and its `Get*` calls (`NoSuchBucket`) is left out, like
//! a bucket that was never listed.
//!
//! Provider 5.x still stores the deprecated inline copies (`versioning`,
//! `policy`, `server_side_encryption_configuration`, `grant`, `cors_rule`, …)
//! in `aws_s3_bucket`, filled from the same calls as the separate
//! `aws_s3_bucket_*` resources: those are [`Fold`]s, compared through the
//! child resource when a state has one.
//!
//! Calls per region and scan: `ListBuckets` (every page, 10 000 a page), plus
//! `GetBucketLocation` per bucket only where the answer lacks `BucketRegion`;
//! then per bucket of the region: thirteen `Get*` calls for `aws_s3_bucket`
//! (policy, ACL, CORS, website, versioning, accelerate, request payment,
//! logging, lifecycle, replication, encryption, object lock, tagging, as the
//! provider's read makes them) and `GetPublicAccessBlock`; the other three
//! types reuse the bucket's answers. Four buckets are read at a time.
//!
//! moto 5.1.22 does not implement `GetBucketRequestPayment` (it answers with
//! an object listing, so the payer is unknown and mapped to `""`, which is also
//! what the provider writes against moto), ignores `max-buckets` and the
//! `bucket-region` filter, and leaves `BucketRegion` out.

use crate::aws::{CollectError, ListFuture, LiveObject, RegionContext, TypeDef, partition};
use crate::live::{Fold, TypeRules, never_default};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::operation::get_bucket_accelerate_configuration::GetBucketAccelerateConfigurationOutput;
use aws_sdk_s3::operation::get_bucket_acl::GetBucketAclOutput;
use aws_sdk_s3::operation::get_bucket_request_payment::GetBucketRequestPaymentOutput;
use aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput;
use aws_sdk_s3::operation::get_bucket_website::GetBucketWebsiteOutput;
use aws_sdk_s3::types::{
    CorsRule, LifecycleRule, LoggingEnabled, ObjectLockConfiguration,
    PublicAccessBlockConfiguration, ReplicationConfiguration, ReplicationRule,
    ServerSideEncryptionConfiguration, Tag,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

/// Largest page `ListBuckets` serves.
const MAX_BUCKETS: i32 = 10_000;

/// Buckets whose per-bucket calls run at once (each bucket's own calls run
/// together too): a region with many buckets is not read one round trip at a time.
const BUCKET_CONCURRENCY: usize = 4;

// ---------------------------------------------------------------------------
// aws_s3_bucket

static RULES_BUCKET: TypeRules = TypeRules {
    resource_type: "aws_s3_bucket",
    global: false,
    // `force_destroy` only steers Terraform's destroy and `bucket_prefix` its
    // create; `acl` is a create-time canned ACL the provider never reads back
    // (the ACL it reads is `grant`).
    ignore: &["acl", "bucket_prefix", "force_destroy", OWNER_MARKER],
    sensitive: &[],
    sets: &[
        "grant",
        "grant.permissions",
        "lifecycle_rule.transition",
        "lifecycle_rule.noncurrent_version_transition",
        "replication_configuration.rules",
    ],
    normalize: normalize_bucket,
    is_default: never_default,
    desired_parts: None,
    folds: &[Fold {
        child_types: &[
            "aws_s3_bucket_policy",
            "aws_s3_bucket_versioning",
            "aws_s3_bucket_server_side_encryption_configuration",
            "aws_s3_bucket_acl",
            "aws_s3_bucket_cors_configuration",
            "aws_s3_bucket_website_configuration",
            "aws_s3_bucket_lifecycle_configuration",
            "aws_s3_bucket_logging",
            "aws_s3_bucket_replication_configuration",
            "aws_s3_bucket_object_lock_configuration",
            "aws_s3_bucket_accelerate_configuration",
            "aws_s3_bucket_request_payment_configuration",
        ],
        parent_id_attribute: "bucket",
        children_are_parts: true,
        remove_child: remove_bucket_child,
    }],
};

pub static BUCKET: TypeDef = TypeDef {
    rules: &RULES_BUCKET,
    actions: &[
        "s3:GetAccelerateConfiguration",
        "s3:GetBucketAcl",
        "s3:GetBucketCORS",
        "s3:GetBucketLocation",
        "s3:GetBucketLogging",
        "s3:GetBucketObjectLockConfiguration",
        "s3:GetBucketPolicy",
        "s3:GetBucketRequestPayment",
        "s3:GetBucketTagging",
        "s3:GetBucketVersioning",
        "s3:GetBucketWebsite",
        "s3:GetEncryptionConfiguration",
        "s3:GetLifecycleConfiguration",
        "s3:GetReplicationConfiguration",
        "s3:ListAllMyBuckets",
    ],
    list: list_buckets,
};

/// The bucket attributes each sibling resource type manages.
fn folded_attributes(child_type: &str) -> &'static [&'static str] {
    match child_type {
        "aws_s3_bucket_policy" => &["policy"],
        "aws_s3_bucket_versioning" => &["versioning"],
        "aws_s3_bucket_server_side_encryption_configuration" => {
            &["server_side_encryption_configuration"]
        }
        "aws_s3_bucket_acl" => &["grant", "acl"],
        "aws_s3_bucket_cors_configuration" => &["cors_rule"],
        "aws_s3_bucket_website_configuration" => &["website", "website_domain", "website_endpoint"],
        "aws_s3_bucket_lifecycle_configuration" => &["lifecycle_rule"],
        "aws_s3_bucket_logging" => &["logging"],
        "aws_s3_bucket_replication_configuration" => &["replication_configuration"],
        // `object_lock_enabled` is the bucket's own (set at creation only).
        "aws_s3_bucket_object_lock_configuration" => &["object_lock_configuration"],
        "aws_s3_bucket_accelerate_configuration" => &["acceleration_status"],
        "aws_s3_bucket_request_payment_configuration" => &["request_payer"],
        _ => &[],
    }
}

/// What a sibling `aws_s3_bucket_*` resource manages is compared through it,
/// not again in the bucket's deprecated inline copy (which a state written
/// right after the first apply still holds empty).
fn remove_bucket_child(desired: &mut Value, live: &mut Value, child_type: &str, _child: &Value) {
    for tree in [desired, live] {
        if let Some(object) = tree.as_object_mut() {
            for name in folded_attributes(child_type) {
                object.remove(*name);
            }
        }
    }
}

/// A live-only attribute holding the bucket owner's canonical user id (from
/// `GetBucketAcl`), which [`normalize_bucket`] needs to recognise the owner's
/// default grant. A colon never occurs in a Terraform attribute name; the
/// bucket's rules ignore it, so it is never compared.
pub const OWNER_MARKER: &str = "driftd:owner_id";

/// Besides the encryption rule's `bucket_key_enabled`:
/// - `request_payer`: AWS answers `GetBucketRequestPayment` for every bucket,
///   so a live `""` means the answer was not read (moto 5.1.22 does not
///   implement the call): unknown, not drift;
/// - `grant`: providers before 3.x (the 0.12-era `aws-s3-bucket-policy-tf012`
///   state, provider 2.x) did not record the grant every bucket with the
///   default `private` ACL has, the owner's own `FULL_CONTROL`, and wrote
///   `grant = []`. Desired `[]` and a live ACL of exactly that one grant are
///   the same ACL; any other grant still shows.
fn normalize_bucket(desired: &mut Value, live: &mut Value) {
    super::net::drop_unreturned(desired, live, &["request_payer"]);
    if desired.get("grant") == Some(&json!([])) && is_owner_default_acl(live) {
        live["grant"] = json!([]);
    }
    for tree in [desired, live] {
        if let Some(rules) = tree
            .pointer_mut("/server_side_encryption_configuration/0/rule")
            .and_then(Value::as_array_mut)
        {
            rules.iter_mut().for_each(bucket_key_null_is_false);
        }
    }
}

/// Lists every bucket of the region with all the configurations the provider
/// reads into `aws_s3_bucket`: thirteen `Get*` calls per bucket, as the
/// provider makes (S3 has no call that returns several).
fn list_buckets(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let buckets = region_buckets(ctx).await?;
        let mut objects = Vec::with_capacity(buckets.len());
        for chunk in buckets.chunks(BUCKET_CONCURRENCY) {
            let read = join_all(chunk.iter().map(|b| bucket_object(ctx, b))).await;
            for object in read {
                objects.extend(object?);
            }
        }
        Ok(objects)
    })
}

/// One bucket, or `None` when it was deleted since it was listed.
async fn bucket_object(
    ctx: &RegionContext,
    bucket: &str,
) -> Result<Option<LiveObject>, CollectError> {
    let (policy, acl, cors, website, versioning, accelerate, payment) = tokio::try_join!(
        get_policy(ctx, bucket),
        get_acl(ctx, bucket),
        get_cors(ctx, bucket),
        get_website(ctx, bucket),
        get_versioning(ctx, bucket),
        get_accelerate(ctx, bucket),
        get_request_payment(ctx, bucket),
    )?;
    let (logging, lifecycle, replication, encryption, object_lock, tags) = tokio::try_join!(
        get_logging(ctx, bucket),
        get_lifecycle(ctx, bucket),
        get_replication(ctx, bucket),
        get_encryption(ctx, bucket),
        get_object_lock(ctx, bucket),
        get_tags(ctx, bucket),
    )?;
    let (
        Some(policy),
        Some(acl),
        Some(cors),
        Some(website),
        Some(versioning),
        Some(accelerate),
        Some(payment),
        Some(logging),
        Some(lifecycle),
        Some(replication),
        Some(encryption),
        Some(object_lock),
        Some(tags),
    ) = (
        policy.present(),
        acl.present(),
        cors.present(),
        website.present(),
        versioning.present(),
        accelerate.present(),
        payment.present(),
        logging.present(),
        lifecycle.present(),
        replication.present(),
        encryption.present(),
        object_lock.present(),
        tags.present(),
    )
    else {
        return Ok(None);
    };
    let details = BucketDetails {
        policy: policy.map(String::as_str),
        acl,
        cors: cors.map(Vec::as_slice),
        website,
        versioning,
        accelerate,
        request_payment: payment,
        logging: logging.and_then(Option::as_ref),
        lifecycle: lifecycle.map(Vec::as_slice),
        replication,
        encryption,
        object_lock,
        tags: tags.map(Vec::as_slice).unwrap_or_default(),
    };
    Ok(Some(LiveObject {
        id: bucket.to_string(),
        attributes: bucket_attributes(bucket, &ctx.region, &details),
    }))
}

/// Everything S3 says about one bucket; `None` where a configuration is absent.
pub struct BucketDetails<'a> {
    pub policy: Option<&'a str>,
    pub acl: Option<&'a GetBucketAclOutput>,
    pub cors: Option<&'a [CorsRule]>,
    pub website: Option<&'a GetBucketWebsiteOutput>,
    pub versioning: Option<&'a GetBucketVersioningOutput>,
    pub accelerate: Option<&'a GetBucketAccelerateConfigurationOutput>,
    pub request_payment: Option<&'a GetBucketRequestPaymentOutput>,
    pub logging: Option<&'a LoggingEnabled>,
    pub lifecycle: Option<&'a [LifecycleRule]>,
    pub replication: Option<&'a ReplicationConfiguration>,
    pub encryption: Option<&'a ServerSideEncryptionConfiguration>,
    pub object_lock: Option<&'a ObjectLockConfiguration>,
    pub tags: &'a [Tag],
}

/// A bucket in the shape hashicorp/aws 5.100.0 writes: an absent
/// configuration is `""` for strings and `[]` for blocks (the provider sets
/// them to nil), except `versioning`, always one element.
pub fn bucket_attributes(bucket: &str, region: &str, d: &BucketDetails<'_>) -> Value {
    let suffix = dns_suffix(region);
    let tags = tag_map(d.tags);
    let website = d.website.map(website_block).unwrap_or_default();
    let (website_endpoint, website_domain) = if website.is_empty() {
        (Value::Null, Value::Null)
    } else {
        let (endpoint, domain) = website_endpoint_and_domain(bucket, region);
        (json!(endpoint), json!(domain))
    };
    let mut attributes = json!({
        "acceleration_status": d.accelerate.and_then(|a| a.status()).map(|s| s.as_str()).unwrap_or_default(),
        "arn": format!("arn:{}:s3:::{bucket}", partition(region)),
        "bucket": bucket,
        "bucket_domain_name": format!("{bucket}.s3.{suffix}"),
        "bucket_regional_domain_name": format!("{bucket}.s3.{region}.{suffix}"),
        "cors_rule": d.cors.unwrap_or_default().iter().map(cors_rule).collect::<Vec<_>>(),
        "grant": d.acl.map(grants).unwrap_or_default(),
        "id": bucket,
        "lifecycle_rule": d.lifecycle.unwrap_or_default().iter().map(lifecycle_rule).collect::<Vec<_>>(),
        "logging": d.logging.map(|l| vec![json!({"target_bucket": l.target_bucket(), "target_prefix": l.target_prefix()})]).unwrap_or_default(),
        "object_lock_configuration": d.object_lock.map(object_lock_block).unwrap_or_default(),
        "object_lock_enabled": d.object_lock.and_then(|o| o.object_lock_enabled()).is_some_and(|e| e.as_str() == "Enabled"),
        "policy": d.policy.unwrap_or_default(),
        "region": region,
        "replication_configuration": d.replication.map(replication_block).unwrap_or_default(),
        "request_payer": d.request_payment.and_then(|p| p.payer()).map(|p| p.as_str()).unwrap_or_default(),
        "server_side_encryption_configuration": d.encryption.map(|e| vec![json!({"rule": e.rules().iter().map(encryption_rule).collect::<Vec<_>>()})]).unwrap_or_default(),
        "tags": tags,
        "tags_all": tags,
        "versioning": [{
            "enabled": d.versioning.and_then(|v| v.status()).is_some_and(|s| s.as_str() == "Enabled"),
            "mfa_delete": d.versioning.and_then(|v| v.mfa_delete()).is_some_and(|s| s.as_str() == "Enabled"),
        }],
        "website": website,
        "website_domain": website_domain,
        "website_endpoint": website_endpoint,
    });
    // The provider leaves `hosted_zone_id` unset for a region its table lacks.
    if let Some(zone) = hosted_zone_id(region) {
        attributes["hosted_zone_id"] = json!(zone);
    }
    if let Some(owner) = d.acl.and_then(|a| a.owner()).and_then(|o| o.id()) {
        attributes[OWNER_MARKER] = json!(owner);
    }
    attributes
}

/// Whether the live ACL is the one a new bucket gets: its owner's
/// `FULL_CONTROL`, nothing else.
fn is_owner_default_acl(live: &Value) -> bool {
    let Some(owner) = live.get(OWNER_MARKER).and_then(Value::as_str) else {
        return false;
    };
    live.get("grant")
        == Some(&json!([{
            "id": owner,
            "permissions": ["FULL_CONTROL"],
            "type": "CanonicalUser",
            "uri": "",
        }]))
}

/// Grants grouped by grantee, their permissions a set, as the provider does.
fn grants(acl: &GetBucketAclOutput) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for grant in acl.grants() {
        let Some(grantee) = grant.grantee() else {
            continue;
        };
        let permission = grant.permission().map(|p| p.as_str()).unwrap_or_default();
        let kind = grantee.r#type().as_str();
        let id = grantee.id().unwrap_or_default();
        let uri = grantee.uri().unwrap_or_default();
        let same = |g: &Value| g["type"] == kind && g["id"] == id && g["uri"] == uri;
        match out.iter_mut().find(|g| same(g)) {
            Some(existing) => {
                let permissions = existing["permissions"]
                    .as_array_mut()
                    .expect("permissions is a list");
                if !permissions.iter().any(|p| p == permission) {
                    permissions.push(json!(permission));
                }
            }
            None => {
                out.push(json!({"id": id, "permissions": [permission], "type": kind, "uri": uri}))
            }
        }
    }
    out
}

fn cors_rule(rule: &CorsRule) -> Value {
    json!({
        "allowed_headers": rule.allowed_headers(),
        "allowed_methods": rule.allowed_methods(),
        "allowed_origins": rule.allowed_origins(),
        "expose_headers": rule.expose_headers(),
        "max_age_seconds": rule.max_age_seconds().unwrap_or(0),
    })
}

/// The `website` block, empty when the configuration sets nothing.
fn website_block(website: &GetBucketWebsiteOutput) -> Vec<Value> {
    let mut m = Map::new();
    if let Some(index) = website.index_document() {
        m.insert("index_document".into(), json!(index.suffix()));
    }
    if let Some(error) = website.error_document() {
        m.insert("error_document".into(), json!(error.key()));
    }
    if let Some(redirect) = website.redirect_all_requests_to() {
        let host = redirect.host_name();
        let value = match redirect.protocol() {
            Some(protocol) => format!("{}://{host}", protocol.as_str()),
            None => host.to_string(),
        };
        m.insert("redirect_all_requests_to".into(), json!(value));
    }
    if !website.routing_rules().is_empty() {
        m.insert(
            "routing_rules".into(),
            json!(routing_rules_json(website.routing_rules())),
        );
    }
    if m.is_empty() {
        return Vec::new();
    }
    for name in [
        "error_document",
        "index_document",
        "redirect_all_requests_to",
        "routing_rules",
    ] {
        m.entry(name).or_insert_with(|| json!(""));
    }
    vec![Value::Object(m)]
}

/// Routing rules as the JSON text the provider writes (the API's field names,
/// empty fields left out).
fn routing_rules_json(rules: &[aws_sdk_s3::types::RoutingRule]) -> String {
    let rules: Vec<Value> = rules
        .iter()
        .map(|rule| {
            let mut out = Map::new();
            if let Some(c) = rule.condition() {
                let mut condition = Map::new();
                insert_some(
                    &mut condition,
                    "HttpErrorCodeReturnedEquals",
                    c.http_error_code_returned_equals(),
                );
                insert_some(&mut condition, "KeyPrefixEquals", c.key_prefix_equals());
                out.insert("Condition".into(), Value::Object(condition));
            }
            if let Some(r) = rule.redirect() {
                let mut redirect = Map::new();
                insert_some(&mut redirect, "HostName", r.host_name());
                insert_some(&mut redirect, "HttpRedirectCode", r.http_redirect_code());
                insert_some(&mut redirect, "Protocol", r.protocol().map(|p| p.as_str()));
                insert_some(
                    &mut redirect,
                    "ReplaceKeyPrefixWith",
                    r.replace_key_prefix_with(),
                );
                insert_some(&mut redirect, "ReplaceKeyWith", r.replace_key_with());
                out.insert("Redirect".into(), Value::Object(redirect));
            }
            Value::Object(out)
        })
        .collect();
    Value::Array(rules).to_string()
}

fn insert_some(m: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        m.insert(key.into(), json!(v));
    }
}

// The rule-level `Prefix` is deprecated in the API but still returned for
// rules written before filters existed, and the provider reads it.
#[allow(deprecated)]
fn lifecycle_rule(rule: &LifecycleRule) -> Value {
    let filter = rule.filter();
    let and = filter.and_then(|f| f.and());
    let prefix = rule
        .prefix()
        .or_else(|| and.and_then(|a| a.prefix()))
        .or_else(|| filter.and_then(|f| f.prefix()))
        .unwrap_or_default();
    let tags: BTreeMap<&str, &str> = match (and, filter.and_then(|f| f.tag())) {
        (Some(and), _) => tag_map(and.tags()),
        (None, Some(tag)) => tag_map(std::slice::from_ref(tag)),
        (None, None) => BTreeMap::new(),
    };
    let expiration: Vec<Value> = rule
        .expiration()
        .map(|e| {
            vec![json!({
                "date": e.date().map(day).unwrap_or_default(),
                "days": e.days().unwrap_or(0),
                "expired_object_delete_marker": e.expired_object_delete_marker().unwrap_or(false),
            })]
        })
        .unwrap_or_default();
    let noncurrent_expiration: Vec<Value> = rule
        .noncurrent_version_expiration()
        .map(|e| vec![json!({"days": e.noncurrent_days().unwrap_or(0)})])
        .unwrap_or_default();
    let transitions: Vec<Value> = rule
        .transitions()
        .iter()
        .map(|t| {
            json!({
                "date": t.date().map(day).unwrap_or_default(),
                "days": t.days().unwrap_or(0),
                "storage_class": t.storage_class().map(|c| c.as_str()).unwrap_or_default(),
            })
        })
        .collect();
    let noncurrent_transitions: Vec<Value> = rule
        .noncurrent_version_transitions()
        .iter()
        .map(|t| {
            json!({
                "days": t.noncurrent_days().unwrap_or(0),
                "storage_class": t.storage_class().map(|c| c.as_str()).unwrap_or_default(),
            })
        })
        .collect();
    json!({
        "abort_incomplete_multipart_upload_days": rule
            .abort_incomplete_multipart_upload()
            .and_then(|a| a.days_after_initiation())
            .unwrap_or(0),
        "enabled": rule.status().as_str() == "Enabled",
        "expiration": expiration,
        "id": rule.id().unwrap_or_default(),
        "noncurrent_version_expiration": noncurrent_expiration,
        "noncurrent_version_transition": noncurrent_transitions,
        "prefix": prefix,
        "tags": tags,
        "transition": transitions,
    })
}

fn object_lock_block(config: &ObjectLockConfiguration) -> Vec<Value> {
    let rule: Vec<Value> = config
        .rule()
        .and_then(|r| r.default_retention())
        .map(|d| {
            vec![json!({"default_retention": [{
                "days": d.days().unwrap_or(0),
                "mode": d.mode().map(|m| m.as_str()).unwrap_or_default(),
                "years": d.years().unwrap_or(0),
            }]})]
        })
        .unwrap_or_default();
    vec![json!({
        "object_lock_enabled": config.object_lock_enabled().map(|e| e.as_str()).unwrap_or_default(),
        "rule": rule,
    })]
}

fn replication_block(config: &ReplicationConfiguration) -> Vec<Value> {
    vec![json!({
        "role": config.role(),
        "rules": config.rules().iter().map(replication_rule).collect::<Vec<_>>(),
    })]
}

// Like a lifecycle rule's, a replication rule's V1 `Prefix` is deprecated but returned.
#[allow(deprecated)]
fn replication_rule(rule: &ReplicationRule) -> Value {
    let destination: Vec<Value> = rule
        .destination()
        .map(|d| {
            vec![json!({
                "access_control_translation": d.access_control_translation().map(|a| vec![json!({"owner": a.owner().as_str()})]).unwrap_or_default(),
                "account_id": d.account().unwrap_or_default(),
                "bucket": d.bucket(),
                "metrics": d.metrics().map(|m| vec![json!({
                    "minutes": m.event_threshold().and_then(|t| t.minutes()).unwrap_or(0),
                    "status": m.status().as_str(),
                })]).unwrap_or_default(),
                "replica_kms_key_id": d.encryption_configuration().and_then(|e| e.replica_kms_key_id()).unwrap_or_default(),
                "replication_time": d.replication_time().map(|r| vec![json!({
                    "minutes": r.time().and_then(|t| t.minutes()).unwrap_or(0),
                    "status": r.status().as_str(),
                })]).unwrap_or_default(),
                "storage_class": d.storage_class().map(|c| c.as_str()).unwrap_or_default(),
            })]
        })
        .unwrap_or_default();
    let filter: Vec<Value> = rule
        .filter()
        .map(|f| {
            let (prefix, tags) = match (f.and(), f.tag()) {
                (Some(and), _) => (and.prefix().unwrap_or_default(), tag_map(and.tags())),
                (None, Some(tag)) => ("", tag_map(std::slice::from_ref(tag))),
                (None, None) => (f.prefix().unwrap_or_default(), BTreeMap::new()),
            };
            vec![json!({"prefix": prefix, "tags": tags})]
        })
        .unwrap_or_default();
    let source: Vec<Value> = rule
        .source_selection_criteria()
        .map(|s| {
            let objects: Vec<Value> = s
                .sse_kms_encrypted_objects()
                .map(|o| vec![json!({"enabled": o.status().as_str() == "Enabled"})])
                .unwrap_or_default();
            vec![json!({"sse_kms_encrypted_objects": objects})]
        })
        .unwrap_or_default();
    // The provider writes the delete-marker status only when it is enabled.
    let delete_marker = rule
        .delete_marker_replication()
        .and_then(|d| d.status())
        .map(|s| s.as_str())
        .filter(|s| *s == "Enabled")
        .unwrap_or_default();
    json!({
        "delete_marker_replication_status": delete_marker,
        "destination": destination,
        "filter": filter,
        "id": rule.id().unwrap_or_default(),
        "prefix": rule.prefix().unwrap_or_default(),
        "priority": rule.priority().unwrap_or(0),
        "source_selection_criteria": source,
        "status": rule.status().as_str(),
    })
}

fn encryption_rule(rule: &aws_sdk_s3::types::ServerSideEncryptionRule) -> Value {
    let by_default: Vec<Value> = rule
        .apply_server_side_encryption_by_default()
        .map(|d| {
            vec![json!({
                "kms_master_key_id": d.kms_master_key_id().unwrap_or_default(),
                "sse_algorithm": d.sse_algorithm().as_str(),
            })]
        })
        .unwrap_or_default();
    json!({
        "apply_server_side_encryption_by_default": by_default,
        "bucket_key_enabled": rule.bucket_key_enabled(),
    })
}

/// The provider leaves `bucket_key_enabled` null when the configuration does not
/// set it, and S3 answers `false` (or nothing): one value.
fn bucket_key_null_is_false(rule: &mut Value) {
    if let Some(rule) = rule.as_object_mut() {
        let value = rule.entry("bucket_key_enabled").or_insert(Value::Null);
        if value.is_null() {
            *value = json!(false);
        }
    }
}

// ---------------------------------------------------------------------------
// aws_s3_bucket_policy

static RULES_POLICY: TypeRules = TypeRules {
    resource_type: "aws_s3_bucket_policy",
    global: false,
    ignore: &[],
    sensitive: &[],
    sets: &[],
    normalize: crate::live::no_normalization,
    is_default: never_default,
    desired_parts: None,
    folds: &[],
};

pub static BUCKET_POLICY: TypeDef = TypeDef {
    rules: &RULES_POLICY,
    actions: &[
        "s3:GetBucketLocation",
        "s3:GetBucketPolicy",
        "s3:ListAllMyBuckets",
    ],
    list: list_policies,
};

/// Id: the bucket name. The document is kept as S3 returns it; the diff
/// compares policy JSON by meaning.
fn list_policies(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        per_bucket(ctx, |bucket| async move {
            Ok(get_policy(ctx, &bucket)
                .await?
                .found()
                .map(|policy| LiveObject {
                    attributes: json!({"bucket": bucket, "id": bucket, "policy": policy}),
                    id: bucket,
                }))
        })
        .await
    })
}

// ---------------------------------------------------------------------------
// aws_s3_bucket_versioning

static RULES_VERSIONING: TypeRules = TypeRules {
    resource_type: "aws_s3_bucket_versioning",
    global: false,
    // `expected_bucket_owner` only guards Terraform's own calls; `mfa` (device
    // serial and code) is write-only.
    ignore: &["expected_bucket_owner", "mfa"],
    sensitive: &[],
    sets: &[],
    normalize: crate::live::no_normalization,
    is_default: versioning_never_configured,
    desired_parts: Some(by_bucket),
    folds: &[],
};

pub static BUCKET_VERSIONING: TypeDef = TypeDef {
    rules: &RULES_VERSIONING,
    actions: &[
        "s3:GetBucketLocation",
        "s3:GetBucketVersioning",
        "s3:ListAllMyBuckets",
    ],
    list: list_versioning,
};

/// Every bucket has a versioning state; `Disabled` (never turned on) is how
/// S3 makes them, not something anyone manages.
fn versioning_never_configured(live: &Value) -> bool {
    live.pointer("/versioning_configuration/0/status") == Some(&json!("Disabled"))
}

/// One per bucket: a bucket never versioned is `Disabled`, as the provider reads it.
fn list_versioning(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        per_bucket(ctx, |bucket| async move {
            Ok(get_versioning(ctx, &bucket)
                .await?
                .present()
                .map(|output| LiveObject {
                    attributes: versioning_attributes(&bucket, output),
                    id: bucket,
                }))
        })
        .await
    })
}

/// An `aws_s3_bucket_versioning` in the provider's shape.
pub fn versioning_attributes(bucket: &str, output: Option<&GetBucketVersioningOutput>) -> Value {
    let status = output
        .and_then(|o| o.status())
        .map(|s| s.as_str())
        .unwrap_or("Disabled");
    let mfa_delete = output
        .and_then(|o| o.mfa_delete())
        .map(|m| m.as_str())
        .unwrap_or_default();
    json!({
        "bucket": bucket,
        "id": bucket,
        "versioning_configuration": [{"mfa_delete": mfa_delete, "status": status}],
    })
}

// ---------------------------------------------------------------------------
// aws_s3_bucket_server_side_encryption_configuration

static RULES_ENCRYPTION: TypeRules = TypeRules {
    resource_type: "aws_s3_bucket_server_side_encryption_configuration",
    global: false,
    ignore: &["expected_bucket_owner"],
    sensitive: &[],
    sets: &["rule"],
    normalize: normalize_encryption,
    is_default: is_default_encryption,
    desired_parts: Some(by_bucket),
    folds: &[],
};

pub static BUCKET_ENCRYPTION: TypeDef = TypeDef {
    rules: &RULES_ENCRYPTION,
    actions: &[
        "s3:GetBucketLocation",
        "s3:GetEncryptionConfiguration",
        "s3:ListAllMyBuckets",
    ],
    list: list_encryption,
};

fn normalize_encryption(desired: &mut Value, live: &mut Value) {
    for tree in [desired, live] {
        if let Some(rules) = tree.get_mut("rule").and_then(Value::as_array_mut) {
            rules.iter_mut().for_each(bucket_key_null_is_false);
        }
    }
}

/// Since January 2023 S3 encrypts every new bucket with SSE-S3 (AES256, no
/// bucket key): that configuration is S3's own, like a default VPC.
fn is_default_encryption(live: &Value) -> bool {
    let Some([rule]) = live["rule"].as_array().map(Vec::as_slice) else {
        return false;
    };
    let by_default = &rule["apply_server_side_encryption_by_default"][0];
    by_default["sse_algorithm"] == "AES256"
        && by_default["kms_master_key_id"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
        && rule["bucket_key_enabled"].as_bool() != Some(true)
}

fn list_encryption(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        per_bucket(ctx, |bucket| async move {
            Ok(get_encryption(ctx, &bucket)
                .await?
                .found()
                .map(|config| LiveObject {
                    attributes: encryption_attributes(&bucket, config),
                    id: bucket,
                }))
        })
        .await
    })
}

/// An `aws_s3_bucket_server_side_encryption_configuration` in the provider's shape.
pub fn encryption_attributes(bucket: &str, config: &ServerSideEncryptionConfiguration) -> Value {
    json!({
        "bucket": bucket,
        "id": bucket,
        "rule": config.rules().iter().map(encryption_rule).collect::<Vec<_>>(),
    })
}

// ---------------------------------------------------------------------------
// aws_s3_bucket_public_access_block

static RULES_PUBLIC_ACCESS_BLOCK: TypeRules = TypeRules {
    resource_type: "aws_s3_bucket_public_access_block",
    global: false,
    ignore: &[],
    sensitive: &[],
    sets: &[],
    normalize: crate::live::no_normalization,
    is_default: blocks_everything,
    desired_parts: None,
    folds: &[],
};

pub static BUCKET_PUBLIC_ACCESS_BLOCK: TypeDef = TypeDef {
    rules: &RULES_PUBLIC_ACCESS_BLOCK,
    actions: &[
        "s3:GetBucketLocation",
        "s3:GetBucketPublicAccessBlock",
        "s3:ListAllMyBuckets",
    ],
    list: list_public_access_blocks,
};

/// Since April 2023 S3 blocks all public access on every new bucket: that
/// block is S3's own unless a state manages it.
fn blocks_everything(live: &Value) -> bool {
    [
        "block_public_acls",
        "block_public_policy",
        "ignore_public_acls",
        "restrict_public_buckets",
    ]
    .iter()
    .all(|name| live[*name] == true)
}

fn list_public_access_blocks(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        per_bucket(ctx, |bucket| async move {
            Ok(get_public_access_block(ctx, &bucket)
                .await?
                .found()
                .map(|config| LiveObject {
                    attributes: public_access_block_attributes(&bucket, config),
                    id: bucket,
                }))
        })
        .await
    })
}

/// An `aws_s3_bucket_public_access_block` in the provider's shape (a flag S3
/// leaves out is `false`).
pub fn public_access_block_attributes(
    bucket: &str,
    config: &PublicAccessBlockConfiguration,
) -> Value {
    json!({
        "block_public_acls": config.block_public_acls().unwrap_or(false),
        "block_public_policy": config.block_public_policy().unwrap_or(false),
        "bucket": bucket,
        "id": bucket,
        "ignore_public_acls": config.ignore_public_acls().unwrap_or(false),
        "restrict_public_buckets": config.restrict_public_buckets().unwrap_or(false),
    })
}

// ---------------------------------------------------------------------------
// Shared

/// A child resource with `expected_bucket_owner` has the id `bucket,owner`;
/// S3 knows it by the bucket alone.
fn by_bucket(attributes: &Value) -> Option<Vec<(String, Value)>> {
    let id = attributes["id"].as_str()?;
    if !id.contains(',') {
        return None;
    }
    let bucket = attributes["bucket"].as_str()?;
    Some(vec![(bucket.to_string(), attributes.clone())])
}

/// The names of the buckets in this context's region, listed once per scan.
async fn region_buckets(ctx: &RegionContext) -> Result<Arc<Vec<String>>, CollectError> {
    ctx.shared("s3:ListBuckets", || async {
        let mut listed: Vec<(String, Option<String>)> = Vec::new();
        let mut pages = ctx
            .s3()
            .list_buckets()
            .bucket_region(&ctx.region)
            .max_buckets(MAX_BUCKETS)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| CollectError::from_sdk("s3:ListBuckets", e))?;
            for bucket in page.buckets() {
                if let Some(name) = bucket.name() {
                    listed.push((name.to_string(), bucket.bucket_region().map(str::to_string)));
                }
            }
        }
        // Where the answer does not say the region, ask each bucket.
        let mut buckets = Vec::with_capacity(listed.len());
        for chunk in listed.chunks(BUCKET_CONCURRENCY * 4) {
            let regions = join_all(chunk.iter().map(|(name, region)| async move {
                match region {
                    Some(region) => Ok(Some(region.clone())),
                    None => bucket_location(ctx, name).await,
                }
            }))
            .await;
            for ((name, _), region) in chunk.iter().zip(regions) {
                if region?.as_deref() == Some(ctx.region.as_str()) {
                    buckets.push(name.clone());
                }
            }
        }
        Ok(buckets)
    })
    .await
}

/// The region of a bucket (`None` when it was deleted since it was listed).
async fn bucket_location(
    ctx: &RegionContext,
    bucket: &str,
) -> Result<Option<String>, CollectError> {
    match ctx.s3().get_bucket_location().bucket(bucket).send().await {
        Ok(out) => Ok(Some(location_region(
            out.location_constraint()
                .map(|c| c.as_str())
                .unwrap_or_default(),
        ))),
        Err(e) if error_code(&e) == Some("NoSuchBucket") => Ok(None),
        Err(e) => Err(CollectError::from_sdk("s3:GetBucketLocation", e)),
    }
}

/// `GetBucketLocation` says nothing for us-east-1 and `EU` for the oldest
/// eu-west-1 buckets.
pub fn location_region(constraint: &str) -> String {
    match constraint {
        "" => "us-east-1".to_string(),
        "EU" => "eu-west-1".to_string(),
        other => other.to_string(),
    }
}

/// The outcome of one per-bucket `Get*` call.
pub enum Fetched<T> {
    /// The configuration (`None`: S3 says the bucket has none).
    Present(Option<T>),
    /// The bucket was deleted since it was listed.
    BucketGone,
}

impl<T> Fetched<T> {
    /// `Some(configuration or None)`, or `None` when the bucket is gone.
    fn present(&self) -> Option<Option<&T>> {
        match self {
            Fetched::Present(v) => Some(v.as_ref()),
            Fetched::BucketGone => None,
        }
    }

    fn found(&self) -> Option<&T> {
        self.present().flatten()
    }
}

/// One `Get*` call for one bucket, made once per scan however many types ask.
/// `absent` are the error codes meaning "this bucket has no such configuration".
async fn bucket_get<T, O, E, Fut>(
    ctx: &RegionContext,
    operation: &'static str,
    bucket: &str,
    absent: &'static [&'static str],
    call: impl FnOnce() -> Fut,
    extract: impl FnOnce(O) -> Option<T>,
) -> Result<Arc<Fetched<T>>, CollectError>
where
    T: Send + Sync + 'static,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    Fut: Future<Output = Result<O, SdkError<E, HttpResponse>>>,
{
    ctx.shared(&format!("{operation}/{bucket}"), || async move {
        match call().await {
            Ok(output) => Ok(Fetched::Present(extract(output))),
            Err(e) => match error_code(&e) {
                Some("NoSuchBucket") => Ok(Fetched::BucketGone),
                Some(code) if absent.contains(&code) => Ok(Fetched::Present(None)),
                _ => Err(CollectError::from_sdk(operation, e)),
            },
        }
    })
    .await
}

fn error_code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<&str> {
    e.as_service_error().and_then(|s| s.code())
}

async fn get_policy(
    ctx: &RegionContext,
    bucket: &str,
) -> Result<Arc<Fetched<String>>, CollectError> {
    bucket_get(
        ctx,
        "s3:GetBucketPolicy",
        bucket,
        &["NoSuchBucketPolicy"],
        || ctx.s3().get_bucket_policy().bucket(bucket).send(),
        |o| o.policy,
    )
    .await
}

async fn get_acl(
    ctx: &RegionContext,
    bucket: &str,
) -> Result<Arc<Fetched<GetBucketAclOutput>>, CollectError> {
    bucket_get(
        ctx,
        "s3:GetBucketAcl",
        bucket,
        &[],
        || ctx.s3().get_bucket_acl().bucket(bucket).send(),
        Some,
    )
    .await
}

async fn get_cors(
    ctx: &RegionContext,
    bucket: &str,
) -> Result<Arc<Fetched<Vec<CorsRule>>>, CollectError> {
    bucket_get(
        ctx,
        "s3:GetBucketCors",
        bucket,
        &["NoSuchCORSConfiguration"],
        || ctx.s3().get_bucket_cors().bucket(bucket).send(),
        |o| o.cors_rules,
    )
    .await
}

async fn get_website(
    ctx: &RegionContext,
    bucket: &str,
) -> Result<Arc<Fetched<GetBucketWebsiteOutput>>, CollectError> {
    bucket_get(
        ctx,
        "s3:GetBucketWebsite",
        bucket,
        &["NoSuchWebsiteConfiguration"],
        || ctx.s3().get_bucket_website().bucket(bucket).send(),
        Some,
    )
    .await
}

async fn get_versioning(
    ctx: &RegionContext,
    bucket: &str,
) -> Result<Arc<Fetched<GetBucketVersioningOutput>>, CollectError> {
    bucket_get(
        ctx,
        "s3:GetBucketVersioning",
        bucket,
        &[],
        || ctx.s3().get_bucket_versioning().bucket(bucket).send(),
        Some,
    )
    .await
}

async fn get_accelerate(
    ctx: &RegionContext,
    bucket: &str,
) -> Result<Arc<Fetched<GetBucketAccelerateConfigurationOutput>>, CollectError> {
    bucket_get(
        ctx,
        "s3:GetBucketAccelerateConfiguration",
        bucket,
        // Regions without Transfer Acceleration answer so, as the provider allows.
        &["UnsupportedArgument", "MethodNotAllowed"],
        || {
            ctx.s3()
                .get_bucket_accelerate_configuration()
                .bucket(bucket)
                .send()
        },
        Some,
    )
    .await
}

async fn get_request_payment(
    ctx: &RegionContext,
    bucket: &str,
) -> Result<Arc<Fetched<GetBucketRequestPaymentOutput>>, CollectError> {
    const OPERATION: &str = "s3:GetBucketRequestPayment";
    ctx.shared(&format!("{OPERATION}/{bucket}"), || async {
        match ctx
            .s3()
            .get_bucket_request_payment()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(output) => Ok(Fetched::Present(Some(output))),
            Err(e) if error_code(&e) == Some("NoSuchBucket") => Ok(Fetched::BucketGone),
            // A success status with a body that is no request-payment document:
            // an S3-compatible endpoint without the call (moto answers with the
            // bucket's object listing). The provider reads no payer from it and
            // writes `""`; so does driftd.
            Err(e) if e.raw_response().is_some_and(|r| r.status().is_success()) => {
                Ok(Fetched::Present(None))
            }
            Err(e) => Err(CollectError::from_sdk(OPERATION, e)),
        }
    })
    .await
}

async fn get_logging(
    ctx: &RegionContext,
    bucket: &str,
) -> Result<Arc<Fetched<Option<LoggingEnabled>>>, CollectError> {
    bucket_get(
        ctx,
        "s3:GetBucketLogging",
        bucket,
        &[],
        || ctx.s3().get_bucket_logging().bucket(bucket).send(),
        |o| Some(o.logging_enabled),
    )
    .await
}

async fn get_lifecycle(
    ctx: &RegionContext,
    bucket: &str,
) -> Result<Arc<Fetched<Vec<LifecycleRule>>>, CollectError> {
    bucket_get(
        ctx,
        "s3:GetBucketLifecycleConfiguration",
        bucket,
        &["NoSuchLifecycleConfiguration"],
        || {
            ctx.s3()
                .get_bucket_lifecycle_configuration()
                .bucket(bucket)
                .send()
        },
        |o| o.rules,
    )
    .await
}

async fn get_replication(
    ctx: &RegionContext,
    bucket: &str,
) -> Result<Arc<Fetched<ReplicationConfiguration>>, CollectError> {
    bucket_get(
        ctx,
        "s3:GetBucketReplication",
        bucket,
        &["ReplicationConfigurationNotFoundError"],
        || ctx.s3().get_bucket_replication().bucket(bucket).send(),
        |o| o.replication_configuration,
    )
    .await
}

async fn get_encryption(
    ctx: &RegionContext,
    bucket: &str,
) -> Result<Arc<Fetched<ServerSideEncryptionConfiguration>>, CollectError> {
    bucket_get(
        ctx,
        "s3:GetBucketEncryption",
        bucket,
        &["ServerSideEncryptionConfigurationNotFoundError"],
        || ctx.s3().get_bucket_encryption().bucket(bucket).send(),
        |o| o.server_side_encryption_configuration,
    )
    .await
}

async fn get_object_lock(
    ctx: &RegionContext,
    bucket: &str,
) -> Result<Arc<Fetched<ObjectLockConfiguration>>, CollectError> {
    bucket_get(
        ctx,
        "s3:GetObjectLockConfiguration",
        bucket,
        &["ObjectLockConfigurationNotFoundError"],
        || {
            ctx.s3()
                .get_object_lock_configuration()
                .bucket(bucket)
                .send()
        },
        |o| o.object_lock_configuration,
    )
    .await
}

async fn get_public_access_block(
    ctx: &RegionContext,
    bucket: &str,
) -> Result<Arc<Fetched<PublicAccessBlockConfiguration>>, CollectError> {
    bucket_get(
        ctx,
        "s3:GetPublicAccessBlock",
        bucket,
        &["NoSuchPublicAccessBlockConfiguration"],
        || ctx.s3().get_public_access_block().bucket(bucket).send(),
        |o| o.public_access_block_configuration,
    )
    .await
}

async fn get_tags(
    ctx: &RegionContext,
    bucket: &str,
) -> Result<Arc<Fetched<Vec<Tag>>>, CollectError> {
    bucket_get(
        ctx,
        "s3:GetBucketTagging",
        bucket,
        &["NoSuchTagSet"],
        || ctx.s3().get_bucket_tagging().bucket(bucket).send(),
        |o| Some(o.tag_set),
    )
    .await
}

/// Runs `object` for every bucket of the region, a few buckets at a time.
async fn per_bucket<'a, F, Fut>(
    ctx: &'a RegionContext,
    object: F,
) -> Result<Vec<LiveObject>, CollectError>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<Option<LiveObject>, CollectError>> + 'a,
{
    let buckets = region_buckets(ctx).await?;
    let mut objects = Vec::with_capacity(buckets.len());
    for chunk in buckets.chunks(BUCKET_CONCURRENCY) {
        for result in join_all(chunk.iter().map(|b| object(b.clone()))).await {
            objects.extend(result?);
        }
    }
    Ok(objects)
}

/// Polls every future to completion on this task and returns their outputs in
/// order: bounded concurrency (the caller sizes the batch) for futures that
/// borrow the context, which `tokio::spawn` cannot take.
async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|o| o.expect("every future completed"))
        .collect()
}

/// Tags as the provider's map, without the `aws:` tags AWS adds (which the
/// provider ignores).
fn tag_map(tags: &[Tag]) -> BTreeMap<&str, &str> {
    tags.iter()
        .filter(|t| !t.key().starts_with("aws:"))
        .map(|t| (t.key(), t.value()))
        .collect()
}

/// A lifecycle date as the provider writes it (`2026-01-31`).
fn day(d: &aws_smithy_types::DateTime) -> String {
    chrono::DateTime::from_timestamp(d.secs(), 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

/// The website endpoint and domain: the oldest regions spell them with a dash.
pub fn website_endpoint_and_domain(bucket: &str, region: &str) -> (String, String) {
    const DASHED: [&str; 9] = [
        "ap-northeast-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "eu-west-1",
        "sa-east-1",
        "us-east-1",
        "us-gov-west-1",
        "us-west-1",
        "us-west-2",
    ];
    let domain = if DASHED.contains(&region) {
        format!("s3-website-{region}.amazonaws.com")
    } else {
        format!("s3-website.{region}.{}", dns_suffix(region))
    };
    (format!("{bucket}.{domain}"), domain)
}

/// The Route 53 zone of S3 website endpoints per region (AWS's published table).
pub fn hosted_zone_id(region: &str) -> Option<&'static str> {
    Some(match region {
        "af-south-1" => "Z83WF9RJE8B12",
        "ap-east-1" => "ZNB98KWMFR0R6",
        "ap-northeast-1" => "Z2M4EHUR26P7ZW",
        "ap-northeast-2" => "Z3W03O7B5YMIYP",
        "ap-northeast-3" => "Z2YQB5RD63NC85",
        "ap-south-1" => "Z11RGJOFQNVJUP",
        "ap-south-2" => "Z02976202B4EZMXIPMXF7",
        "ap-southeast-1" => "Z3O0J2DXBE1FTB",
        "ap-southeast-2" => "Z1WCIGYICN2BYD",
        "ap-southeast-3" => "Z01846753K324LI26A3VV",
        "ap-southeast-4" => "Z0312387243XT5FE14WFO",
        "ap-southeast-5" => "Z08660063OXLMA7F1FJHU",
        "ca-central-1" => "Z1QDHH18159H29",
        "ca-west-1" => "Z03565811Z33SLEZTHOUL",
        "cn-north-1" => "Z5CN8UMXT92WN",
        "cn-northwest-1" => "Z282HJ1KT0DH03",
        "eu-central-1" => "Z21DNDUVLTQW6Q",
        "eu-central-2" => "Z030506016YDQGETNASS",
        "eu-north-1" => "Z3BAZG2TWCNX0D",
        "eu-south-1" => "Z30OZKI7KPW7MI",
        "eu-south-2" => "Z0081959F7139GRJC19J",
        "eu-west-1" => "Z1BKCTXD74EZPE",
        "eu-west-2" => "Z3GKZC51ZF0DB4",
        "eu-west-3" => "Z3R1K369G5AVDG",
        "il-central-1" => "Z09640613K4A3MN55U7GU",
        "me-central-1" => "Z06143092I8HRXZRUZROF",
        "me-south-1" => "Z1MPMWCPA7YB62",
        "sa-east-1" => "Z7KQH4QJS55SO",
        "us-east-1" => "Z3AQBSTGFYJSTF",
        "us-east-2" => "Z2O1EMRO9K5GLX",
        "us-gov-east-1" => "Z2NIFVYYW2VKV1",
        "us-gov-west-1" => "Z31GFT0UA1I2HV",
        "us-west-1" => "Z2F56UZL2M1ACD",
        "us-west-2" => "Z3BJ6K6RIION7M",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::types::{
        AccessControlTranslation, DefaultRetention, DeleteMarkerReplication,
        DeleteMarkerReplicationStatus, Destination, EncryptionConfiguration, Grant, Grantee,
        Metrics, MetricsStatus, ObjectLockEnabled, ObjectLockRetentionMode, ObjectLockRule,
        OwnerOverride, Permission, Protocol, RedirectAllRequestsTo, ReplicationRuleAndOperator,
        ReplicationRuleFilter, ReplicationRuleStatus, ReplicationTime, ReplicationTimeStatus,
        ReplicationTimeValue, SourceSelectionCriteria, SseKmsEncryptedObjects,
        SseKmsEncryptedObjectsStatus, StorageClass, Type,
    };

    fn grant(kind: Type, id: Option<&str>, uri: Option<&str>, permission: Permission) -> Grant {
        let mut grantee = Grantee::builder().r#type(kind);
        if let Some(id) = id {
            grantee = grantee.id(id);
        }
        if let Some(uri) = uri {
            grantee = grantee.uri(uri);
        }
        Grant::builder()
            .grantee(grantee.build().unwrap())
            .permission(permission)
            .build()
    }

    #[test]
    fn grants_are_grouped_by_grantee() {
        // What AWS answers for a bucket with the `log-delivery-write` canned ACL.
        let log_delivery = "http://acs.amazonaws.com/groups/s3/LogDelivery";
        let acl = GetBucketAclOutput::builder()
            .grants(grant(
                Type::CanonicalUser,
                Some("owner"),
                None,
                Permission::FullControl,
            ))
            .grants(grant(
                Type::Group,
                None,
                Some(log_delivery),
                Permission::Write,
            ))
            .grants(grant(
                Type::Group,
                None,
                Some(log_delivery),
                Permission::ReadAcp,
            ))
            .build();
        assert_eq!(
            grants(&acl),
            vec![
                json!({"id": "owner", "permissions": ["FULL_CONTROL"], "type": "CanonicalUser", "uri": ""}),
                json!({"id": "", "permissions": ["WRITE", "READ_ACP"], "type": "Group", "uri": log_delivery}),
            ]
        );
    }

    /// The live bucket for an ACL: `bucket_attributes` as a scan maps it.
    fn bucket_with_acl(acl: &GetBucketAclOutput) -> Value {
        let details = BucketDetails {
            policy: None,
            acl: Some(acl),
            cors: None,
            website: None,
            versioning: None,
            accelerate: None,
            request_payment: None,
            logging: None,
            lifecycle: None,
            replication: None,
            encryption: None,
            object_lock: None,
            tags: &[],
        };
        bucket_attributes("b", "us-east-1", &details)
    }

    fn owned_acl() -> aws_sdk_s3::operation::get_bucket_acl::builders::GetBucketAclOutputBuilder {
        GetBucketAclOutput::builder()
            .owner(aws_sdk_s3::types::Owner::builder().id("owner").build())
            .grants(grant(
                Type::CanonicalUser,
                Some("owner"),
                None,
                Permission::FullControl,
            ))
    }

    #[test]
    fn old_state_without_the_owners_default_grant_is_in_sync() {
        // aws-s3-bucket-policy-tf012: `grant = []` for a private bucket.
        let mut desired = json!({"grant": [], "request_payer": "BucketOwner"});
        let mut live = bucket_with_acl(&owned_acl().build());
        normalize_bucket(&mut desired, &mut live);
        assert_eq!(live["grant"], json!([]));
        assert_eq!(desired["grant"], json!([]));
    }

    #[test]
    fn a_real_grant_besides_the_owners_still_shows() {
        let acl = owned_acl()
            .grants(grant(
                Type::Group,
                None,
                Some("http://acs.amazonaws.com/groups/global/AllUsers"),
                Permission::Read,
            ))
            .build();
        let mut desired = json!({"grant": []});
        let mut live = bucket_with_acl(&acl);
        normalize_bucket(&mut desired, &mut live);
        assert_eq!(live["grant"].as_array().unwrap().len(), 2);

        // The only grant going to someone else than the owner is no default.
        let other = GetBucketAclOutput::builder()
            .owner(aws_sdk_s3::types::Owner::builder().id("owner").build())
            .grants(grant(
                Type::CanonicalUser,
                Some("someone-else"),
                None,
                Permission::FullControl,
            ))
            .build();
        let mut desired = json!({"grant": []});
        let mut live = bucket_with_acl(&other);
        normalize_bucket(&mut desired, &mut live);
        assert_eq!(live["grant"].as_array().unwrap().len(), 1);

        // A state that records the owner's grant compares it as it is.
        let mut desired = json!({"grant": [{"id": "owner", "permissions": ["FULL_CONTROL"], "type": "CanonicalUser", "uri": ""}]});
        let mut live = bucket_with_acl(&owned_acl().build());
        normalize_bucket(&mut desired, &mut live);
        assert_eq!(live["grant"], desired["grant"]);
    }

    #[test]
    fn an_unreturned_request_payer_is_unknown_not_drift() {
        // moto 5.1.22 does not implement GetBucketRequestPayment.
        let mut desired = json!({"request_payer": "BucketOwner"});
        let mut live = json!({"request_payer": ""});
        normalize_bucket(&mut desired, &mut live);
        assert_eq!(desired.get("request_payer"), None);
        assert_eq!(live.get("request_payer"), None);

        let mut desired = json!({"request_payer": "BucketOwner"});
        let mut live = json!({"request_payer": "Requester"});
        normalize_bucket(&mut desired, &mut live);
        assert_eq!(live["request_payer"], "Requester");
        assert_eq!(desired["request_payer"], "BucketOwner");
    }

    #[test]
    fn replication_and_object_lock_in_the_provider_shape() {
        let rule = ReplicationRule::builder()
            .id("to-dr")
            .priority(1)
            .status(ReplicationRuleStatus::Enabled)
            .filter(
                ReplicationRuleFilter::builder()
                    .and(
                        ReplicationRuleAndOperator::builder()
                            .prefix("data/")
                            .tags(Tag::builder().key("tier").value("gold").build().unwrap())
                            .build(),
                    )
                    .build(),
            )
            .delete_marker_replication(
                DeleteMarkerReplication::builder()
                    .status(DeleteMarkerReplicationStatus::Enabled)
                    .build(),
            )
            .source_selection_criteria(
                SourceSelectionCriteria::builder()
                    .sse_kms_encrypted_objects(
                        SseKmsEncryptedObjects::builder()
                            .status(SseKmsEncryptedObjectsStatus::Enabled)
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .destination(
                Destination::builder()
                    .bucket("arn:aws:s3:::dr")
                    .account("210987654321")
                    .storage_class(StorageClass::StandardIa)
                    .access_control_translation(
                        AccessControlTranslation::builder()
                            .owner(OwnerOverride::Destination)
                            .build()
                            .unwrap(),
                    )
                    .encryption_configuration(
                        EncryptionConfiguration::builder()
                            .replica_kms_key_id("arn:aws:kms:eu-west-1:210987654321:key/k")
                            .build(),
                    )
                    .metrics(
                        Metrics::builder()
                            .status(MetricsStatus::Enabled)
                            .event_threshold(ReplicationTimeValue::builder().minutes(15).build())
                            .build()
                            .unwrap(),
                    )
                    .replication_time(
                        ReplicationTime::builder()
                            .status(ReplicationTimeStatus::Enabled)
                            .time(ReplicationTimeValue::builder().minutes(15).build())
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let config = ReplicationConfiguration::builder()
            .role("arn:aws:iam::123456789012:role/replication")
            .rules(rule)
            .build()
            .unwrap();
        assert_eq!(
            replication_block(&config),
            vec![json!({
                "role": "arn:aws:iam::123456789012:role/replication",
                "rules": [{
                    "delete_marker_replication_status": "Enabled",
                    "destination": [{
                        "access_control_translation": [{"owner": "Destination"}],
                        "account_id": "210987654321",
                        "bucket": "arn:aws:s3:::dr",
                        "metrics": [{"minutes": 15, "status": "Enabled"}],
                        "replica_kms_key_id": "arn:aws:kms:eu-west-1:210987654321:key/k",
                        "replication_time": [{"minutes": 15, "status": "Enabled"}],
                        "storage_class": "STANDARD_IA",
                    }],
                    "filter": [{"prefix": "data/", "tags": {"tier": "gold"}}],
                    "id": "to-dr",
                    "prefix": "",
                    "priority": 1,
                    "source_selection_criteria": [{"sse_kms_encrypted_objects": [{"enabled": true}]}],
                    "status": "Enabled",
                }],
            })]
        );

        let lock = ObjectLockConfiguration::builder()
            .object_lock_enabled(ObjectLockEnabled::Enabled)
            .rule(
                ObjectLockRule::builder()
                    .default_retention(
                        DefaultRetention::builder()
                            .mode(ObjectLockRetentionMode::Compliance)
                            .days(30)
                            .build(),
                    )
                    .build(),
            )
            .build();
        assert_eq!(
            object_lock_block(&lock),
            vec![json!({
                "object_lock_enabled": "Enabled",
                "rule": [{"default_retention": [{"days": 30, "mode": "COMPLIANCE", "years": 0}]}],
            })]
        );
        let details = BucketDetails {
            policy: None,
            acl: None,
            cors: None,
            website: None,
            versioning: None,
            accelerate: None,
            request_payment: None,
            logging: None,
            lifecycle: None,
            replication: None,
            encryption: None,
            object_lock: Some(&lock),
            tags: &[],
        };
        let bucket = bucket_attributes("locked", "eu-central-1", &details);
        assert_eq!(bucket["object_lock_enabled"], true);
        assert_eq!(bucket["hosted_zone_id"], "Z21DNDUVLTQW6Q");
        assert_eq!(
            bucket["bucket_regional_domain_name"],
            "locked.s3.eu-central-1.amazonaws.com"
        );
        let china = bucket_attributes("c", "cn-north-1", &details);
        assert_eq!(china["arn"], "arn:aws-cn:s3:::c");
        assert_eq!(china["bucket_domain_name"], "c.s3.amazonaws.com.cn");
    }

    #[test]
    fn website_redirects_and_routing_rules() {
        let redirect = GetBucketWebsiteOutput::builder()
            .redirect_all_requests_to(
                RedirectAllRequestsTo::builder()
                    .host_name("www.example.com")
                    .protocol(Protocol::Https)
                    .build()
                    .unwrap(),
            )
            .build();
        assert_eq!(
            website_block(&redirect),
            vec![json!({
                "error_document": "",
                "index_document": "",
                "redirect_all_requests_to": "https://www.example.com",
                "routing_rules": "",
            })]
        );
        let rules = GetBucketWebsiteOutput::builder()
            .index_document(
                aws_sdk_s3::types::IndexDocument::builder()
                    .suffix("index.html")
                    .build()
                    .unwrap(),
            )
            .routing_rules(
                aws_sdk_s3::types::RoutingRule::builder()
                    .condition(
                        aws_sdk_s3::types::Condition::builder()
                            .key_prefix_equals("docs/")
                            .build(),
                    )
                    .redirect(
                        aws_sdk_s3::types::Redirect::builder()
                            .replace_key_prefix_with("documents/")
                            .build(),
                    )
                    .build(),
            )
            .build();
        let block = website_block(&rules);
        assert_eq!(
            serde_json::from_str::<Value>(block[0]["routing_rules"].as_str().unwrap()).unwrap(),
            json!([{"Condition": {"KeyPrefixEquals": "docs/"}, "Redirect": {"ReplaceKeyPrefixWith": "documents/"}}])
        );
        assert_eq!(
            website_endpoint_and_domain("site", "eu-central-1"),
            (
                "site.s3-website.eu-central-1.amazonaws.com".to_string(),
                "s3-website.eu-central-1.amazonaws.com".to_string()
            )
        );
    }

    /// `aws_s3_bucket.bucket` of `aws-s3-versioning-sse-tf111.tfstate` as a
    /// first apply writes it: the inline copies empty.
    fn stale_bucket() -> Value {
        json!({
            "id": "webs3bucketusingterraform1",
            "policy": "",
            "server_side_encryption_configuration": [],
            "versioning": [{"enabled": false, "mfa_delete": false}],
            "website": [],
            "website_domain": null,
        })
    }

    #[test]
    fn child_resources_fold_out_of_the_bucket() {
        let fold = &RULES_BUCKET.folds[0];
        assert_eq!(fold.parent_id_attribute, "bucket");
        let mut desired = stale_bucket();
        let mut live = json!({
            "id": "webs3bucketusingterraform1",
            "policy": "{\"Version\":\"2012-10-17\",\"Statement\":[]}",
            "server_side_encryption_configuration": [{"rule": [{"apply_server_side_encryption_by_default": [{"kms_master_key_id": "", "sse_algorithm": "AES256"}], "bucket_key_enabled": false}]}],
            "versioning": [{"enabled": true, "mfa_delete": false}],
            "website": [{"index_document": "index.html"}],
            "website_domain": "s3-website-us-east-1.amazonaws.com",
        });
        for child in [
            "aws_s3_bucket_versioning",
            "aws_s3_bucket_server_side_encryption_configuration",
            "aws_s3_bucket_website_configuration",
        ] {
            (fold.remove_child)(
                &mut desired,
                &mut live,
                child,
                &json!({"bucket": "webs3bucketusingterraform1"}),
            );
        }
        // The policy has no child resource here: it stays, and is compared.
        assert_eq!(
            desired,
            json!({"id": "webs3bucketusingterraform1", "policy": ""})
        );
        assert_eq!(
            live,
            json!({"id": "webs3bucketusingterraform1", "policy": "{\"Version\":\"2012-10-17\",\"Statement\":[]}"})
        );
    }

    #[test]
    fn children_with_an_expected_owner_are_matched_by_bucket() {
        let with_owner = json!({"id": "logs,123456789012", "bucket": "logs", "expected_bucket_owner": "123456789012"});
        assert_eq!(
            by_bucket(&with_owner),
            Some(vec![("logs".to_string(), with_owner.clone())])
        );
        assert_eq!(by_bucket(&json!({"id": "logs", "bucket": "logs"})), None);
    }

    #[test]
    fn what_s3_sets_by_itself_is_a_default() {
        let sse = |algorithm: &str, key: &str, bucket_key: Value| json!({"rule": [{"apply_server_side_encryption_by_default": [{"kms_master_key_id": key, "sse_algorithm": algorithm}], "bucket_key_enabled": bucket_key}]});
        assert!(is_default_encryption(&sse("AES256", "", json!(false))));
        assert!(is_default_encryption(&sse("AES256", "", Value::Null)));
        assert!(!is_default_encryption(&sse("aws:kms", "", json!(false))));
        assert!(!is_default_encryption(&sse("AES256", "", json!(true))));
        let block = |v: bool| json!({"block_public_acls": true, "block_public_policy": true, "ignore_public_acls": true, "restrict_public_buckets": v});
        assert!(blocks_everything(&block(true)));
        assert!(!blocks_everything(&block(false)));
        assert!(versioning_never_configured(&versioning_attributes(
            "b", None
        )));
    }

    #[test]
    fn an_unset_bucket_key_is_false() {
        // `aws_s3_bucket_server_side_encryption_configuration.encryption` of
        // `aws-s3-versioning-sse-tf111.tfstate`, against what S3 answers.
        let mut desired = json!({"rule": [{"apply_server_side_encryption_by_default": [{"kms_master_key_id": "", "sse_algorithm": "AES256"}], "bucket_key_enabled": null}]});
        let mut live = json!({"rule": [{"apply_server_side_encryption_by_default": [{"kms_master_key_id": "", "sse_algorithm": "AES256"}], "bucket_key_enabled": false}]});
        normalize_encryption(&mut desired, &mut live);
        assert_eq!(desired, live);
    }

    #[test]
    fn location_constraints_name_regions() {
        assert_eq!(location_region(""), "us-east-1");
        assert_eq!(location_region("EU"), "eu-west-1");
        assert_eq!(location_region("ap-south-2"), "ap-south-2");
    }
}
