//! Why a listing failed, in words an operator can act on.

use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::result::SdkError;
use serde::Serialize;

/// What kind of failure made a listing unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The credentials may not make this call.
    AccessDenied,
    /// Still throttled after every retry.
    Throttled,
    /// No answer within the call timeout, after every retry.
    Timeout,
    /// The region is not enabled for the account (opt-in regions).
    RegionDisabled,
    /// The endpoint could not be reached.
    Unreachable,
    /// The credentials are for another account than the one configured.
    WrongAccount,
    /// No credentials could be had (chain empty, role not assumable).
    Credentials,
    Other,
}

/// A failed listing or account set-up. The message names the operation and says what to do.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct CollectError {
    pub kind: ErrorKind,
    pub message: String,
}

impl CollectError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CollectError {
            kind,
            message: message.into(),
        }
    }

    /// Classifies an SDK error from `operation` (e.g. `ec2:DescribeVpcs`).
    pub fn from_sdk<E, R>(operation: &str, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug,
    {
        match &err {
            SdkError::TimeoutError(_) => CollectError::new(
                ErrorKind::Timeout,
                format!(
                    "{operation}: no answer within the call timeout after every retry; the type is unknown for this scan"
                ),
            ),
            SdkError::DispatchFailure(d) => {
                let kind = if d.is_timeout() {
                    ErrorKind::Timeout
                } else {
                    ErrorKind::Unreachable
                };
                CollectError::new(
                    kind,
                    format!(
                        "{operation}: cannot reach the endpoint ({}); check the network and endpoint_url",
                        chain(&err)
                    ),
                )
            }
            SdkError::ServiceError(service) => {
                let e = service.err();
                let code = e.code().unwrap_or("unknown");
                let detail = e.message().unwrap_or_default();
                let kind = classify_code(code);
                let advice = match kind {
                    ErrorKind::AccessDenied => {
                        "; grant it (packaging/aws-iam-policy.json lists every action driftd needs)"
                    }
                    ErrorKind::Throttled => {
                        "; throttled after every retry: lower `concurrency` or scan less often"
                    }
                    ErrorKind::RegionDisabled => {
                        "; enable the region for the account or remove it from `regions`"
                    }
                    ErrorKind::Credentials => "; check the credentials driftd runs with",
                    _ => "",
                };
                CollectError::new(kind, format!("{operation}: {code}: {detail}{advice}"))
            }
            _ => CollectError::new(ErrorKind::Other, format!("{operation}: {}", chain(&err))),
        }
    }
}

/// AWS error codes by meaning (services spell them differently).
fn classify_code(code: &str) -> ErrorKind {
    match code {
        "AccessDenied"
        | "AccessDeniedException"
        | "UnauthorizedOperation"
        | "UnauthorizedAccess"
        | "Forbidden"
        | "AuthorizationError" => ErrorKind::AccessDenied,
        "Throttling"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "TooManyRequestsException"
        | "RequestThrottled"
        | "SlowDown"
        | "PriorRequestNotComplete" => ErrorKind::Throttled,
        "OptInRequired" => ErrorKind::RegionDisabled,
        "AuthFailure"
        | "InvalidClientTokenId"
        | "UnrecognizedClientException"
        | "ExpiredToken"
        | "ExpiredTokenException"
        | "SignatureDoesNotMatch" => ErrorKind::Credentials,
        _ => ErrorKind::Other,
    }
}

fn chain(err: &dyn std::error::Error) -> String {
    let mut s = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        s.push_str(": ");
        s.push_str(&e.to_string());
        source = e.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(
            classify_code("UnauthorizedOperation"),
            ErrorKind::AccessDenied
        );
        assert_eq!(classify_code("RequestLimitExceeded"), ErrorKind::Throttled);
        assert_eq!(classify_code("OptInRequired"), ErrorKind::RegionDisabled);
        assert_eq!(classify_code("AuthFailure"), ErrorKind::Credentials);
        assert_eq!(classify_code("InvalidParameterValue"), ErrorKind::Other);
    }
}
