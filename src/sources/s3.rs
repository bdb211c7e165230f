//! States in S3, as Terraform's `s3` backend stores them.
//!
//! One GetObject per fetch: with `If-None-Match: <known ETag>` when the
//! object was read before, so an unchanged object costs a 304 and no body.
//! (A HeadObject first would cost two requests for every changed object.)
//!
//! AWS configs are cached per (region, profile, role, endpoint): the
//! assumed-role credentials and the connection pool live in the config and
//! are reused by every fetch that shares it.

use std::collections::HashMap;
use std::sync::Arc;

use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_s3::config::SharedCredentialsProvider;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectError;

use super::{FetchOptions, Fetcher, SourceError, SourceVersion, StateObject, error_chain};
use crate::config::S3Source;

/// What an AWS config depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct AwsKey {
    region: String,
    profile: Option<String>,
    role_arn: Option<String>,
    endpoint_url: Option<String>,
}

/// The session name CloudTrail shows for driftd's assumed-role reads.
const ROLE_SESSION_NAME: &str = "driftd";

pub(super) fn origin(source: &S3Source) -> String {
    match &source.version_id {
        Some(version) => format!("s3://{}/{}?versionId={version}", source.bucket, source.key),
        None => format!("s3://{}/{}", source.bucket, source.key),
    }
}

pub(super) async fn fetch(
    fetcher: &Fetcher,
    source: &S3Source,
    known: &HashMap<String, SourceVersion>,
) -> Result<StateObject, SourceError> {
    let origin = origin(source);
    let config = sdk_config(fetcher, source).await;
    let client = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(source.force_path_style)
            .build(),
    );
    let known = match known.get(&origin) {
        Some(version @ SourceVersion::S3 { .. }) => Some(version),
        _ => None,
    };
    let mut request = client
        .get_object()
        .bucket(&source.bucket)
        .key(&source.key)
        .set_version_id(source.version_id.clone());
    if let Some(SourceVersion::S3 {
        etag: Some(etag), ..
    }) = known
    {
        request = request.if_none_match(etag);
    }
    match request.send().await {
        Ok(output) => {
            let version = SourceVersion::S3 {
                etag: output.e_tag.clone(),
                version_id: output.version_id.clone(),
            };
            let body = output
                .body
                .collect()
                .await
                .map_err(|e| SourceError::Aws {
                    origin: origin.clone(),
                    detail: format!("the object's body broke off: {}", error_chain(&e)),
                    transient: true,
                })?
                .into_bytes();
            Ok(StateObject {
                origin,
                version,
                content: Some(body.to_vec()),
            })
        }
        Err(SdkError::ServiceError(e)) if e.raw().status().as_u16() == 304 && known.is_some() => {
            Ok(StateObject {
                origin,
                version: known.cloned().expect("checked above"),
                content: None,
            })
        }
        Err(error) => Err(classify(origin, source, error)),
    }
}

async fn sdk_config(fetcher: &Fetcher, source: &S3Source) -> SdkConfig {
    let key = AwsKey {
        region: source.region.clone(),
        profile: source.profile.clone(),
        role_arn: source.role_arn.clone(),
        endpoint_url: source.endpoint_url.clone(),
    };
    // The std lock is held only to find the cell, never across an await.
    let cell = {
        let mut configs = fetcher.aws.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(configs.entry(key.clone()).or_default())
    };
    cell.get_or_init(|| load_config(&fetcher.options, &key))
        .await
        .clone()
}

async fn load_config(options: &FetchOptions, key: &AwsKey) -> SdkConfig {
    let region = Region::new(key.region.clone());
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(options.connect_timeout)
        .operation_attempt_timeout(options.timeout)
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(region.clone())
        .timeout_config(timeouts);
    if let Some(files) = &options.aws_profile_files {
        loader = loader.profile_files(files.clone());
    }
    if let Some(endpoint) = &key.endpoint_url {
        // Also where STS is asked for role credentials: an S3-compatible
        // store with STS (MinIO) or an emulator serves both.
        loader = loader.endpoint_url(endpoint);
    }
    if let Some(profile) = &key.profile {
        // Explicitly the profile's credentials: the default chain would let
        // AWS_ACCESS_KEY_ID in the environment win over a configured profile.
        let mut provider = ProfileFileCredentialsProvider::builder()
            .profile_name(profile)
            .configure(&ProviderConfig::without_region().with_region(Some(region.clone())));
        if let Some(files) = &options.aws_profile_files {
            provider = provider.profile_files(files.clone());
        }
        loader = loader
            .profile_name(profile)
            .credentials_provider(provider.build());
    } else if let Some(credentials) = &options.aws_credentials {
        loader = loader.credentials_provider(credentials.clone());
    }
    let base = loader.load().await;
    match &key.role_arn {
        None => base,
        Some(role_arn) => {
            let provider = AssumeRoleProvider::builder(role_arn)
                .session_name(ROLE_SESSION_NAME)
                .region(region)
                .configure(&base)
                .build()
                .await;
            base.into_builder()
                .credentials_provider(SharedCredentialsProvider::new(provider))
                .build()
        }
    }
}

fn classify(
    origin: String,
    source: &S3Source,
    error: SdkError<GetObjectError, aws_sdk_s3::config::http::HttpResponse>,
) -> SourceError {
    if let Some(credentials) = find_credentials_error(&error) {
        return SourceError::AwsCredentials {
            origin,
            detail: error_chain(credentials),
            transient: matches!(credentials, CredentialsError::ProviderTimedOut(_)),
        };
    }
    let detail = DisplayErrorContext(&error).to_string();
    match &error {
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            let code = context.err().code().unwrap_or_default();
            let message = context.err().message().unwrap_or_default();
            let said = service_error_text(status, code, message);
            let (bucket, key) = (&source.bucket, &source.key);
            match (code, status) {
                ("NoSuchKey", _) => SourceError::NotFound {
                    origin,
                    detail: format!(
                        "bucket {bucket} has no object {key} ({said}); check the key (workspaces live under workspace_key_prefix)"
                    ),
                },
                ("NoSuchBucket", _) => SourceError::NotFound {
                    origin,
                    detail: format!("there is no bucket {bucket} ({said}); check the bucket name"),
                },
                ("NoSuchVersion", _) => SourceError::NotFound {
                    origin,
                    detail: format!(
                        "the object has no version {} ({said}); check version_id",
                        source.version_id.as_deref().unwrap_or_default()
                    ),
                },
                (
                    "InvalidAccessKeyId"
                    | "SignatureDoesNotMatch"
                    | "ExpiredToken"
                    | "InvalidToken"
                    | "TokenRefreshRequired",
                    _,
                ) => SourceError::AccessDenied {
                    origin,
                    detail: format!(
                        "the credentials were rejected ({said}); check the profile, role_arn or the credentials driftd runs with"
                    ),
                },
                ("AccessDenied" | "AllAccessDisabled" | "AccountProblem", _) | (_, 401 | 403) => {
                    SourceError::AccessDenied {
                        origin,
                        detail: format!(
                            "{said}; the credentials need s3:GetObject{} on the object, and kms:Decrypt when it is SSE-KMS encrypted",
                            if source.version_id.is_some() {
                                " and s3:GetObjectVersion"
                            } else {
                                ""
                            }
                        ),
                    }
                }
                ("InvalidObjectState", _) => SourceError::InvalidSource {
                    origin,
                    detail: format!(
                        "the object is archived ({said}); restore it, or keep states in a storage class that can be read directly"
                    ),
                },
                ("PermanentRedirect" | "AuthorizationHeaderMalformed", _) | (_, 301) => {
                    let actual = context
                        .raw()
                        .headers()
                        .get("x-amz-bucket-region")
                        .map(|r| format!(" (it is in {r})"))
                        .unwrap_or_default();
                    SourceError::InvalidSource {
                        origin,
                        detail: format!(
                            "bucket {bucket} is not in region {}{actual}; set the source's region",
                            source.region
                        ),
                    }
                }
                ("InvalidArgument", _) if source.version_id.is_some() => SourceError::NotFound {
                    origin,
                    detail: format!("{said}; check version_id"),
                },
                (_, 404) => SourceError::NotFound {
                    origin,
                    detail: said,
                },
                ("SlowDown" | "ServiceUnavailable" | "InternalError" | "RequestTimeout", _)
                | (_, 408 | 429 | 500..) => SourceError::Aws {
                    origin,
                    detail: said,
                    transient: true,
                },
                _ => SourceError::Aws {
                    origin,
                    detail: said,
                    transient: false,
                },
            }
        }
        SdkError::TimeoutError(_) => SourceError::Timeout { origin, detail },
        SdkError::DispatchFailure(failure) if failure.is_timeout() => {
            SourceError::Timeout { origin, detail }
        }
        SdkError::DispatchFailure(failure) if failure.is_io() => {
            SourceError::Unreachable { origin, detail }
        }
        SdkError::DispatchFailure(failure) if failure.is_user() => {
            SourceError::InvalidSource { origin, detail }
        }
        SdkError::ConstructionFailure(_) => SourceError::InvalidSource { origin, detail },
        // Other dispatch failures, garbled responses: worth another try.
        _ => SourceError::Aws {
            origin,
            detail,
            transient: true,
        },
    }
}

/// What S3 said, in one line: `NoSuchKey: The specified key does not
/// exist., http 404`.
pub(crate) fn service_error_text(status: u16, code: &str, message: &str) -> String {
    match (code.is_empty(), message.is_empty()) {
        (true, _) => format!("http {status}"),
        (false, true) => format!("{code}, http {status}"),
        (false, false) => format!("{code}: {message}, http {status}"),
    }
}

/// The credential provider's error, wherever the SDK wrapped it.
fn find_credentials_error<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a CredentialsError> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = next {
        if let Some(found) = e.downcast_ref::<CredentialsError>() {
            return Some(found);
        }
        next = e.source();
    }
    None
}
