//! Notifications: what a finding's message says, and the sinks that carry it.
//!
//! A [`Message`] is plain data built from the store (the finding, its tier and
//! why, its evidence, its blast radius); every sink renders the same message
//! in its own API's shape. Secrets never reach a message: changed values come
//! from the finding's `changes`, where sensitive values are already
//! `sensitive:hmac-sha256:…` hashes, and [`Message`] shows them as
//! "(sensitive)".
//!
//! Sinks do IO and nothing else: they never decide whether to send, and they
//! never retry. The outbox worker decides, retries with backoff, honours
//! `Retry-After` and rate limits, and records every attempt.

pub mod build;
pub mod enqueue;
pub mod http;
pub mod message;
pub mod outbox;
pub mod route;
pub mod sinks;

pub use message::{
    ActorLine, Change, ChannelFailure, Digest, DigestLine, Message, MessageKind, Subject, TierLine,
};

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// What a sink is asked to do with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Tell about it: a new or escalated finding (PagerDuty `trigger`), a
    /// digest, a failed channel.
    Notify,
    /// Someone in driftd acknowledged it (PagerDuty `acknowledge`; Slack with
    /// a bot token edits the original message).
    Acknowledge,
    /// It is over: resolved, or accepted as intended (PagerDuty `resolve`;
    /// Slack with a bot token edits the original message).
    Resolve,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Notify => "notify",
            Action::Acknowledge => "acknowledge",
            Action::Resolve => "resolve",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "notify" => Action::Notify,
            "acknowledge" => Action::Acknowledge,
            "resolve" => Action::Resolve,
            _ => return None,
        })
    }
}

/// One delivery a sink makes.
#[derive(Debug, Clone)]
pub struct Delivery<'a> {
    /// The outbox row's id: unique per delivery, the same on every retry
    /// (a receiver that deduplicates uses it; the webhook sends it as
    /// `X-Driftd-Delivery`).
    pub id: &'a str,
    pub action: Action,
    pub message: &'a Message,
    /// What this sink returned when it delivered the finding's first
    /// message to this channel (a Slack `ts`), so a later delivery can
    /// edit it; `None` when there was none.
    pub earlier_receipt: Option<&'a serde_json::Value>,
}

/// What a receiver confirmed, kept with the delivery (a Slack message's
/// channel and `ts`, a PagerDuty `dedup_key`, an SMTP message id).
pub type Receipt = serde_json::Value;

/// Why a delivery failed, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{detail}")]
pub struct SendError {
    pub retry: Retry,
    /// The HTTP status or SMTP reply code, when there was one.
    pub status: Option<u16>,
    /// What went wrong, for the outbox and the logs; never a URL (webhook
    /// URLs carry their secret) or a credential.
    pub detail: String,
}

/// Whether a failed delivery is worth another attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// A transient failure (5xx, 429, a timeout, a refused connection); the
    /// receiver may have said when (`Retry-After`).
    Later(Option<Duration>),
    /// The receiver refused the request itself (4xx other than 408/429, a
    /// bad address): retrying the same request cannot succeed.
    Never,
}

impl SendError {
    pub fn transient(detail: impl Into<String>) -> SendError {
        SendError {
            retry: Retry::Later(None),
            status: None,
            detail: detail.into(),
        }
    }

    pub fn permanent(detail: impl Into<String>) -> SendError {
        SendError {
            retry: Retry::Never,
            status: None,
            detail: detail.into(),
        }
    }
}

/// A boxed future, so sinks can sit behind `dyn Sink`.
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<Receipt, SendError>> + Send + 'a>>;

/// A channel's sink: renders a [`Message`] in its API's shape and sends it,
/// once. Implementations live in `sinks/`, one module per API.
pub trait Sink: Send + Sync {
    /// The channel type, as in config (`slack`, `teams`, `pagerduty`, `email`, `webhook`).
    fn kind(&self) -> &'static str;

    /// Sends one delivery. A sink that has nothing to do for an action (a
    /// plain Slack webhook asked to edit a message it cannot edit) sends
    /// what its API allows instead (a short follow-up message), or returns
    /// `Ok` with a receipt saying it skipped.
    fn send<'a>(&'a self, delivery: &'a Delivery<'a>) -> SendFuture<'a>;
}
