//! A generic JSON webhook: the message as JSON (`schema/notification.schema.json`),
//! `X-Driftd-Event` naming what happened, `X-Driftd-Delivery` the delivery id
//! (the same on every retry, so a receiver can drop a repeat), and, when a
//! secret is configured, `X-Driftd-Signature-256: sha256=<hex>`, an
//! HMAC-SHA256 over the exact body bytes.

use crate::config::{ChannelConfig, ChannelKind, SecretOrPlain};
use crate::notify::{Delivery, Message, SendError, SendFuture, Sink, http};
use hmac::{KeyInit, Mac};
use serde::Serialize;

/// The body's `schema_version`.
pub const SCHEMA_VERSION: u32 = 1;

pub struct WebhookSink {
    name: String,
    url: String,
    secret: Option<String>,
    client: reqwest::Client,
}

/// The JSON a webhook receives.
#[derive(Debug, Serialize)]
pub struct Body<'a> {
    pub schema_version: u32,
    /// Unique per delivery, the same on a retry.
    pub delivery_id: &'a str,
    /// `finding.new`, `finding.resolved`, ... as in `X-Driftd-Event`.
    pub event: String,
    /// notify, acknowledge or resolve.
    pub action: &'static str,
    pub message: &'a Message,
}

/// `finding.<kind>`, `digest`, or `channel.failed`.
pub fn event_name(message: &Message) -> String {
    use crate::notify::MessageKind;
    match message.kind {
        MessageKind::Digest => "digest".into(),
        MessageKind::ChannelFailed => "channel.failed".into(),
        k => format!("finding.{}", k.as_str()),
    }
}

/// `sha256=<hex>` over `body` with `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret)
        .expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl WebhookSink {
    pub fn new(channel: &ChannelConfig) -> Result<WebhookSink, String> {
        let ChannelKind::Webhook { url, secret } = &channel.kind else {
            return Err("not a webhook channel".into());
        };
        let url = match url {
            SecretOrPlain::Plain(u) => u.clone(),
            SecretOrPlain::Secret(s) => super::secret(s)?,
        };
        let secret = secret.as_ref().map(super::secret).transpose()?;
        Ok(WebhookSink {
            name: channel.name.clone(),
            url,
            secret,
            client: http::client(channel.timeout),
        })
    }
}

impl Sink for WebhookSink {
    fn kind(&self) -> &'static str {
        "webhook"
    }

    fn send<'a>(&'a self, delivery: &'a Delivery<'a>) -> SendFuture<'a> {
        Box::pin(async move {
            let event = event_name(delivery.message);
            let body = serde_json::to_vec(&Body {
                schema_version: SCHEMA_VERSION,
                delivery_id: delivery.id,
                event: event.clone(),
                action: delivery.action.as_str(),
                message: delivery.message,
            })
            .map_err(|e| SendError::permanent(format!("webhook {}: {e}", self.name)))?;
            let mut request = self
                .client
                .post(&self.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header("X-Driftd-Event", &event)
                .header("X-Driftd-Delivery", delivery.id);
            if let Some(secret) = &self.secret {
                request = request.header(
                    "X-Driftd-Signature-256",
                    signature(secret.as_bytes(), &body),
                );
            }
            let (status, _) =
                http::send(&format!("webhook {}", self.name), request.body(body)).await?;
            Ok(serde_json::json!({ "status": status }))
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn signature_matches_a_known_vector() {
        // RFC 4231 test case 2.
        assert_eq!(
            super::signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
