//! Sink tests play the outbox worker: send a delivery once, or again and
//! again until the receiver confirms it, keeping the errors on the way.

use std::time::Duration;

use driftd::notify::{Action, Delivery, Message, MessageKind, Receipt, Retry, SendError, Sink};

use super::notify::{digest_message, failure_message, finding_message};

/// One attempt.
pub async fn send_once(
    sink: &dyn Sink,
    id: &str,
    action: Action,
    message: &Message,
) -> Result<Receipt, SendError> {
    let delivery = Delivery {
        id,
        action,
        message,
        earlier_receipt: None,
    };
    sink.send(&delivery).await
}

/// One attempt that must fail: its error, with `(status, retry)` as expected.
pub async fn send_refused(
    sink: &dyn Sink,
    action: Action,
    message: &Message,
    expected: (Option<u16>, Retry),
) -> SendError {
    let error = send_once(sink, "outbox-refused", action, message)
        .await
        .expect_err("the receiver refuses it");
    assert_eq!((error.status, error.retry), expected, "{error:?}");
    error
}

/// Attempts until the receiver confirms: the receipt and the transient
/// errors before it. Fails the test on an error that is not transient, or
/// after five attempts.
pub async fn deliver(
    sink: &dyn Sink,
    id: &str,
    action: Action,
    message: &Message,
) -> (Receipt, Vec<SendError>) {
    let mut errors = Vec::new();
    for _ in 0..5 {
        match send_once(sink, id, action, message).await {
            Ok(receipt) => return (receipt, errors),
            Err(e) if matches!(e.retry, Retry::Later(_)) => errors.push(e),
            Err(e) => panic!("{id}: refused for good: {e:?} (after {errors:?})"),
        }
    }
    panic!("{id}: still not delivered after {errors:?}")
}

/// Fails unless `errors` are what the issue's receiver script gives: a 500
/// to try again later, then a 429 to try again in 2 s.
pub fn assert_issue_script_errors(errors: &[SendError]) {
    let seen: Vec<_> = errors.iter().map(|e| (e.status, e.retry)).collect();
    assert_eq!(
        seen,
        [
            (Some(500), Retry::Later(None)),
            (Some(429), Retry::Later(Some(Duration::from_secs(2)))),
        ],
        "{errors:?}"
    );
}

/// A message of every kind, with the action the worker sends it with.
pub fn every_kind() -> Vec<(Message, Action)> {
    vec![
        (finding_message(MessageKind::New), Action::Notify),
        (finding_message(MessageKind::Escalated), Action::Notify),
        (
            finding_message(MessageKind::Acknowledged),
            Action::Acknowledge,
        ),
        (finding_message(MessageKind::Accepted), Action::Resolve),
        (finding_message(MessageKind::Resolved), Action::Resolve),
        (digest_message(10_000), Action::Notify),
        (failure_message(), Action::Notify),
    ]
}

/// `http://127.0.0.1:<port><path>` on a loopback port nobody listens on.
pub fn nobody_listening(path: &str) -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port();
    format!("http://127.0.0.1:{port}{path}")
}
