//! Not yet written: see issue 6.

use crate::config::ChannelConfig;
use crate::notify::{Delivery, SendError, SendFuture, Sink};

pub struct SlackSink;

impl SlackSink {
    pub fn new(_channel: &ChannelConfig) -> Result<SlackSink, String> {
        Ok(SlackSink)
    }
}

impl Sink for SlackSink {
    fn kind(&self) -> &'static str {
        "slack"
    }

    fn send<'a>(&'a self, _delivery: &'a Delivery<'a>) -> SendFuture<'a> {
        Box::pin(async { Err(SendError::permanent("slack: not implemented yet")) })
    }
}
