//! Not yet written: see issue 6.

use crate::config::ChannelConfig;
use crate::notify::{Delivery, SendError, SendFuture, Sink};

pub struct PagerDutySink;

impl PagerDutySink {
    pub fn new(_channel: &ChannelConfig) -> Result<PagerDutySink, String> {
        Ok(PagerDutySink)
    }
}

impl Sink for PagerDutySink {
    fn kind(&self) -> &'static str {
        "pagerduty"
    }

    fn send<'a>(&'a self, _delivery: &'a Delivery<'a>) -> SendFuture<'a> {
        Box::pin(async { Err(SendError::permanent("pagerduty: not implemented yet")) })
    }
}
