//! Not yet written: see issue 6.

use crate::config::ChannelConfig;
use crate::notify::{Delivery, SendError, SendFuture, Sink};

pub struct TeamsSink;

impl TeamsSink {
    pub fn new(_channel: &ChannelConfig) -> Result<TeamsSink, String> {
        Ok(TeamsSink)
    }
}

impl Sink for TeamsSink {
    fn kind(&self) -> &'static str {
        "teams"
    }

    fn send<'a>(&'a self, _delivery: &'a Delivery<'a>) -> SendFuture<'a> {
        Box::pin(async { Err(SendError::permanent("teams: not implemented yet")) })
    }
}
