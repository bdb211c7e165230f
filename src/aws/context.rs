//! Per account and region: credentials, SDK clients, and call counting.

use super::{CollectError, CollectOptions, ErrorKind};
use crate::config::{AwsAccount, AwsScope};
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_ec2::config::Region;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde::Serialize;
use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::Semaphore;

/// Everything a lister needs for one account and region.
pub struct RegionContext {
    pub account: String,
    pub region: String,
    /// The SDK configuration: credentials (assumed role), region, retries, timeouts, endpoint.
    pub config: aws_config::SdkConfig,
    /// Path-style S3 addressing (S3-compatible endpoints, the emulator in tests).
    force_path_style: bool,
    pub(super) permits: Arc<Semaphore>,
    stats: Arc<CallStats>,
    clients: Clients,
    shared: Mutex<HashMap<String, Arc<SharedCell>>>,
}

type SharedCell = tokio::sync::OnceCell<Result<Arc<dyn Any + Send + Sync>, CollectError>>;

impl RegionContext {
    /// The result of `load`, made once per scan in this account and region
    /// however many listings ask for `key`: the route tables behind four types,
    /// a bucket's versioning for two. Concurrent askers wait for the first; a
    /// failure is shared too (each type that needed it is unknown, and the
    /// failed call is not repeated). `key` names the call and its input
    /// (`"ec2:DescribeRouteTables"`, `"s3:GetBucketVersioning/logs"`); one key
    /// always holds one type `T`.
    pub async fn shared<T, F, Fut>(&self, key: &str, load: F) -> Result<Arc<T>, CollectError>
    where
        T: Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, CollectError>>,
    {
        let cell = self
            .shared
            .lock()
            .expect("shared-call lock")
            .entry(key.to_string())
            .or_default()
            .clone();
        let result = cell
            .get_or_init(|| async {
                load()
                    .await
                    .map(|value| Arc::new(value) as Arc<dyn Any + Send + Sync>)
            })
            .await;
        match result {
            Ok(value) => Ok(value
                .clone()
                .downcast::<T>()
                .unwrap_or_else(|_| panic!("shared call {key} asked for with two types"))),
            Err(e) => Err(e.clone()),
        }
    }
}

/// One lazily built client per service; each counts its calls under the
/// service's name.
macro_rules! clients {
    ($($name:ident => $sdk:ident),* $(,)?) => {
        #[derive(Default)]
        struct Clients {
            $($name: OnceLock<$sdk::Client>,)*
            s3: OnceLock<aws_sdk_s3::Client>,
        }

        impl RegionContext {
            $(
                pub fn $name(&self) -> &$sdk::Client {
                    self.clients.$name.get_or_init(|| {
                        let conf = $sdk::config::Builder::from(&self.config)
                            .interceptor(self.stats.counter(stringify!($name)))
                            .build();
                        $sdk::Client::from_conf(conf)
                    })
                }
            )*
        }
    };
}

clients! {
    ec2 => aws_sdk_ec2,
    iam => aws_sdk_iam,
    rds => aws_sdk_rds,
    kms => aws_sdk_kms,
    lambda => aws_sdk_lambda,
    elbv2 => aws_sdk_elasticloadbalancingv2,
    logs => aws_sdk_cloudwatchlogs,
    route53 => aws_sdk_route53,
    dynamodb => aws_sdk_dynamodb,
    sqs => aws_sdk_sqs,
    sns => aws_sdk_sns,
    ecr => aws_sdk_ecr,
}

impl RegionContext {
    pub fn s3(&self) -> &aws_sdk_s3::Client {
        self.clients.s3.get_or_init(|| {
            let conf = aws_sdk_s3::config::Builder::from(&self.config)
                .force_path_style(self.force_path_style)
                .interceptor(self.stats.counter("s3"))
                .build();
            aws_sdk_s3::Client::from_conf(conf)
        })
    }
}

/// API calls made during a collection, per service: for progress, metrics and
/// the API-efficiency benchmark.
#[derive(Debug, Default)]
pub struct CallStats {
    services: Mutex<BTreeMap<&'static str, ServiceCalls>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ServiceCalls {
    /// HTTP requests sent (each retry attempt counts).
    pub requests: u64,
    /// Responses that said "slow down" (HTTP 429 or a throttling error code).
    pub throttled: u64,
}

impl CallStats {
    pub fn snapshot(&self) -> BTreeMap<&'static str, ServiceCalls> {
        self.services.lock().expect("stats lock").clone()
    }

    pub fn total_requests(&self) -> u64 {
        self.services
            .lock()
            .expect("stats lock")
            .values()
            .map(|s| s.requests)
            .sum()
    }

    fn counter(self: &Arc<Self>, service: &'static str) -> CountCalls {
        CountCalls {
            service,
            stats: self.clone(),
        }
    }

    fn add(&self, service: &'static str, f: impl FnOnce(&mut ServiceCalls)) {
        f(self
            .services
            .lock()
            .expect("stats lock")
            .entry(service)
            .or_default());
    }
}

#[derive(Debug)]
struct CountCalls {
    service: &'static str,
    stats: Arc<CallStats>,
}

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "driftd-call-counter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.stats.add(self.service, |s| s.requests += 1);
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(response) = context.response() {
            let status = response.status().as_u16();
            let body = response.body().bytes().unwrap_or_default();
            let says_throttled = memchr::memmem::find(body, b"Throttl").is_some()
                || memchr::memmem::find(body, b"RequestLimitExceeded").is_some();
            if status == 429 || (status >= 400 && says_throttled) {
                self.stats.add(self.service, |s| s.throttled += 1);
            }
        }
        Ok(())
    }
}

/// Builds the contexts of one account, one per region, after checking that the
/// credentials really are for that account (a wrong profile must not make a
/// whole account's resources look missing or unmanaged).
pub(super) async fn account_contexts(
    scope: &AwsScope,
    account: &AwsAccount,
    options: &CollectOptions,
    stats: Arc<CallStats>,
) -> Result<Vec<Arc<RegionContext>>, CollectError> {
    let config = account_config(scope, account, options, &stats).await?;
    let permits_per_region = options.concurrency.max(1);
    let force_path_style = scope.endpoint_url.is_some();
    Ok(scope
        .regions
        .iter()
        .map(|region| {
            Arc::new(RegionContext {
                account: account.id.clone(),
                region: region.clone(),
                config: config
                    .clone()
                    .into_builder()
                    .region(Region::new(region.clone()))
                    .build(),
                force_path_style,
                permits: Arc::new(Semaphore::new(permits_per_region)),
                stats: stats.clone(),
                clients: Clients::default(),
                shared: Mutex::new(HashMap::new()),
            })
        })
        .collect())
}

/// The SDK configuration for one account (its role assumed when it names
/// one), in the scope's first region, after checking that the credentials
/// really are for that account.
pub async fn account_config(
    scope: &AwsScope,
    account: &AwsAccount,
    options: &CollectOptions,
    stats: &Arc<CallStats>,
) -> Result<aws_config::SdkConfig, CollectError> {
    let first_region = scope
        .regions
        .first()
        .cloned()
        .unwrap_or_else(|| "us-east-1".to_string());
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(first_region.clone()))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(options.max_attempts)
                .with_initial_backoff(options.initial_backoff),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(options.call_timeout)
                .build(),
        );
    if let Some(profile) = &scope.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &scope.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some(credentials) = &options.credentials {
        loader = loader.credentials_provider(credentials.clone());
    }
    let mut config = loader.load().await;
    if let Some(role) = &account.role_arn {
        let mut builder = AssumeRoleProvider::builder(role)
            .session_name("driftd")
            .region(Region::new(first_region.clone()));
        if let Some(external_id) = &account.external_id {
            builder = builder.external_id(external_id);
        }
        let provider = builder.configure(&config).build().await;
        config = config
            .into_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider))
            .build();
    }

    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(&config)
            .interceptor(stats.counter("sts"))
            .build(),
    );
    let identity = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| CollectError::from_sdk("sts:GetCallerIdentity", e))?;
    let actual = identity.account().unwrap_or_default();
    if actual != account.id {
        return Err(CollectError::new(
            ErrorKind::WrongAccount,
            format!(
                "the credentials are for account {actual}, not {}: fix the profile or role_arn for this account; \
                 nothing in it is scanned",
                account.id
            ),
        ));
    }

    Ok(config)
}
