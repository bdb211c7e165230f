//! Not yet written: see issue 6.

use crate::config::ChannelConfig;
use crate::notify::{Delivery, SendError, SendFuture, Sink};

pub struct EmailSink;

impl EmailSink {
    pub fn new(_channel: &ChannelConfig) -> Result<EmailSink, String> {
        Ok(EmailSink)
    }
}

impl Sink for EmailSink {
    fn kind(&self) -> &'static str {
        "email"
    }

    fn send<'a>(&'a self, _delivery: &'a Delivery<'a>) -> SendFuture<'a> {
        Box::pin(async { Err(SendError::permanent("email: not implemented yet")) })
    }
}
