//! Read-only AWS collectors: list every supported resource type in every
//! account and region of a target's scope, in Terraform's attribute shape.
//!
//! Only Describe/List/Get calls (a test scans `src/` for anything else, and
//! `packaging/aws-iam-policy.json` grants exactly the actions the types declare).
//! A listing that fails makes its type unknown for that account and region,
//! never empty: nothing can look "missing" because a call was denied.

mod context;
mod error;
pub mod types;

pub use context::{CallStats, RegionContext, ServiceCalls, account_config};
pub use error::{CollectError, ErrorKind};

use crate::config::AwsScope;
use crate::live::{Coverage, GLOBAL, Listing, LiveInventory, TypeRules, live_resource};
use crate::model::Origin;
use crate::secrets::SecretKey;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A boxed listing future (type definitions are plain data with fn pointers).
pub type ListFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<LiveObject>, CollectError>> + Send + 'a>>;

/// Lists one resource type completely (every page) in one account and region.
pub type ListFn = for<'a> fn(&'a RegionContext) -> ListFuture<'a>;

/// One supported resource type: everything about it in one place. `rules` is the
/// pure half the diff uses; `list` and `actions` are the AWS half.
pub struct TypeDef {
    pub rules: &'static TypeRules,
    /// The IAM actions `list` needs (`ec2:DescribeVpcs`): the shipped read-only
    /// policy grants exactly the union of these, and a test keeps them in step.
    pub actions: &'static [&'static str],
    pub list: ListFn,
}

/// A live object, already mapped into the attribute shape the Terraform AWS
/// provider writes into state.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveObject {
    /// The `id` Terraform stores for it.
    pub id: String,
    pub attributes: serde_json::Value,
}

/// How the collectors talk to AWS.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// Concurrent listings per account and region.
    pub concurrency: usize,
    /// Time allowed for one API call attempt.
    pub call_timeout: Duration,
    /// Attempts per call, retried with jittered exponential backoff on
    /// throttling, 5xx and timeouts (the SDK's standard retry strategy).
    pub max_attempts: u32,
    /// First backoff; the SDK doubles it up to 20 s, with full jitter.
    pub initial_backoff: Duration,
    /// Base credentials instead of the standard chain (tests, embedding).
    pub credentials: Option<aws_credential_types::provider::SharedCredentialsProvider>,
    /// Told how the listings go, e.g. to draw progress on a terminal.
    pub progress: Option<Arc<dyn CollectProgress>>,
}

/// Follows a collection as it runs. Called from the collecting tasks: keep it cheap.
pub trait CollectProgress: Send + Sync + std::fmt::Debug {
    /// Before any listing: the call counters, which grow as requests are sent.
    fn started(&self, _stats: &Arc<CallStats>) {}
    /// `listings` listings are planned in this account and region
    /// (`global` for once-per-account types).
    fn planned(&self, account: &str, region: &str, listings: usize);
    /// One listing ended: `Ok(resources listed)` or why it is unknown.
    fn finished(
        &self,
        account: &str,
        region: &str,
        resource_type: &str,
        outcome: Result<usize, &CollectError>,
    );
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            concurrency: 4,
            call_timeout: Duration::from_secs(30),
            max_attempts: 5,
            initial_backoff: Duration::from_millis(500),
            credentials: None,
            progress: None,
        }
    }
}

/// Lists `types` across the scope. Never fails as a whole: every failure is a
/// listing marked unknown, with its reason.
pub async fn collect(
    scope: &AwsScope,
    types: &[&'static TypeDef],
    options: &CollectOptions,
    key: &SecretKey,
) -> (LiveInventory, Arc<CallStats>) {
    let stats = Arc::new(CallStats::default());
    let progress = options.progress.as_deref();
    if let Some(p) = progress {
        p.started(&stats);
    }
    let mut inventory = LiveInventory::default();
    let mut tasks = tokio::task::JoinSet::new();
    for account in &scope.accounts {
        let contexts = match context::account_contexts(scope, account, options, stats.clone()).await
        {
            Ok(c) => c,
            Err(e) => {
                // No usable credentials for this account: every listing in it is unknown.
                for region in listing_regions(scope) {
                    let defs = types
                        .iter()
                        .filter(|d| d.rules.global == (region == GLOBAL));
                    if let Some(p) = progress {
                        p.planned(&account.id, region, defs.clone().count());
                    }
                    for def in defs {
                        inventory
                            .coverage
                            .push(unknown(def, &account.id, region, &e));
                        if let Some(p) = progress {
                            p.finished(&account.id, region, def.rules.resource_type, Err(&e));
                        }
                    }
                }
                continue;
            }
        };
        if let Some(p) = progress {
            for region in listing_regions(scope) {
                let n = types
                    .iter()
                    .filter(|d| d.rules.global == (region == GLOBAL))
                    .count();
                if n > 0 {
                    p.planned(&account.id, region, n);
                }
            }
        }
        for ctx in contexts {
            for def in types.iter().copied() {
                // Global types are listed once per account, from its first region.
                let region_label = if def.rules.global {
                    if ctx.region != scope.regions[0] {
                        continue;
                    }
                    GLOBAL.to_string()
                } else {
                    ctx.region.clone()
                };
                let ctx = ctx.clone();
                let key = key.clone();
                tasks.spawn(async move {
                    let _permit = ctx
                        .permits
                        .clone()
                        .acquire_owned()
                        .await
                        .expect("the semaphore is never closed");
                    let result = (def.list)(&ctx).await;
                    (def, ctx.account.clone(), region_label, result, key)
                });
            }
        }
    }
    while let Some(joined) = tasks.join_next().await {
        let (def, account, region, result, key) = joined.expect("a listing task does not panic");
        if let Some(p) = progress {
            let outcome = result.as_ref().map(Vec::len);
            p.finished(&account, &region, def.rules.resource_type, outcome);
        }
        match result {
            Ok(objects) => {
                let origin: Origin = Origin::from(format!("aws:{account}:{region}"));
                inventory.coverage.push(Coverage {
                    resource_type: def.rules.resource_type.to_string(),
                    account,
                    region,
                    listing: Listing::Complete,
                    listed: objects.len(),
                });
                for o in objects {
                    inventory.resources.push(live_resource(
                        def.rules.resource_type,
                        o.id,
                        o.attributes,
                        def.rules.sensitive,
                        &origin,
                        &key,
                    ));
                }
            }
            Err(e) => inventory.coverage.push(unknown(def, &account, &region, &e)),
        }
    }
    // Deterministic output whatever order the listings finished in.
    inventory.coverage.sort_by(|a, b| {
        (&a.resource_type, &a.account, &a.region).cmp(&(&b.resource_type, &b.account, &b.region))
    });
    inventory
        .resources
        .sort_by(|a, b| a.key.cmp(&b.key).then_with(|| a.origin.cmp(&b.origin)));
    (inventory, stats)
}

fn listing_regions(scope: &AwsScope) -> impl Iterator<Item = &str> {
    std::iter::once(GLOBAL).chain(scope.regions.iter().map(String::as_str))
}

fn unknown(def: &TypeDef, account: &str, region: &str, e: &CollectError) -> Coverage {
    Coverage {
        resource_type: def.rules.resource_type.to_string(),
        account: account.to_string(),
        region: region.to_string(),
        listing: Listing::Unknown {
            reason: e.to_string(),
        },
        listed: 0,
    }
}

/// The ARN partition of a region (`aws`, `aws-cn`, `aws-us-gov`, `aws-iso`,
/// `aws-iso-b`), for the ARNs the provider builds itself.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else {
        "aws"
    }
}

/// The account an ARN names, e.g. for the role of an `AwsAccount`.
pub fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// The region an ARN names (empty for global services).
pub fn arn_region(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}
