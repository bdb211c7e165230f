//! One module per channel API, each behind [`super::Sink`].

pub mod email;
pub mod pagerduty;
pub mod slack;
pub mod teams;
pub mod webhook;

use super::Sink;
use crate::config::{ChannelConfig, ChannelKind};

/// Why a channel's sink could not be built (a secret that cannot be read, a
/// CA file that does not parse): the channel's deliveries wait, the rest go on.
#[derive(Debug, thiserror::Error)]
#[error("channel {channel}: {detail}")]
pub struct BuildError {
    pub channel: String,
    pub detail: String,
}

/// The sink for a configured channel. Secrets are read here, at use, never
/// kept in the config.
pub fn build(channel: &ChannelConfig) -> Result<Box<dyn Sink>, BuildError> {
    let fail = |detail: String| BuildError {
        channel: channel.name.clone(),
        detail,
    };
    Ok(match &channel.kind {
        ChannelKind::Slack { .. } => Box::new(slack::SlackSink::new(channel).map_err(fail)?),
        ChannelKind::Teams { .. } => Box::new(teams::TeamsSink::new(channel).map_err(fail)?),
        ChannelKind::PagerDuty { .. } => {
            Box::new(pagerduty::PagerDutySink::new(channel).map_err(fail)?)
        }
        ChannelKind::Email(_) => Box::new(email::EmailSink::new(channel).map_err(fail)?),
        ChannelKind::Webhook { .. } => Box::new(webhook::WebhookSink::new(channel).map_err(fail)?),
    })
}

/// Reads a secret for a sink, with a message naming it (never its value).
pub(crate) fn secret(secret: &crate::config::SecretRef) -> Result<String, String> {
    crate::sources::resolve_secret(secret).map_err(|e| e.to_string())
}
