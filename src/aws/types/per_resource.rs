//! Per-resource detail calls, a few at a time.
//!
//! Several APIs return only names from their list call (SQS queue URLs, SNS
//! topic ARNs, DynamoDB table names) and force one or more calls per resource
//! for the rest. Those calls run concurrently but bounded, so a region with a
//! thousand queues is neither read one round trip at a time nor thrown at the
//! API all at once (which would only be throttled).

use crate::aws::CollectError;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Detail calls in flight at once, per listing. The collector already runs
/// several listings per region concurrently; this keeps one listing from
/// taking every connection.
pub(crate) const DETAIL_CONCURRENCY: usize = 4;

/// Runs `call` on every item, at most [`DETAIL_CONCURRENCY`] at a time, and
/// returns the answers in the items' order. `Ok(None)` drops the item (it was
/// deleted since it was listed). The first error fails the whole listing:
/// the remaining calls are cancelled, and no short list is ever returned.
pub(crate) async fn each_bounded<I, T, F, Fut>(
    items: Vec<I>,
    call: F,
) -> Result<Vec<T>, CollectError>
where
    I: Send + 'static,
    T: Send + 'static,
    F: Fn(I) -> Fut,
    Fut: Future<Output = Result<Option<T>, CollectError>> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(DETAIL_CONCURRENCY));
    let mut calls = tokio::task::JoinSet::new();
    let count = items.len();
    for (index, item) in items.into_iter().enumerate() {
        let permits = permits.clone();
        let future = call(item);
        calls.spawn(async move {
            let _permit = permits
                .acquire_owned()
                .await
                .expect("the detail-call semaphore is never closed");
            (index, future.await)
        });
    }
    let mut answers: Vec<(usize, T)> = Vec::with_capacity(count);
    while let Some(joined) = calls.join_next().await {
        let (index, answer) = joined.expect("a detail call does not panic");
        if let Some(value) = answer? {
            answers.push((index, value));
        }
    }
    answers.sort_by_key(|(index, _)| *index);
    Ok(answers.into_iter().map(|(_, value)| value).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::ErrorKind;

    #[tokio::test]
    async fn answers_keep_the_item_order_and_drop_deleted_items() {
        let answers = each_bounded((0..20u64).collect(), |n| async move {
            // Later items answer first: order must come from the index.
            tokio::time::sleep(std::time::Duration::from_millis(20 - n)).await;
            Ok((n % 5 != 0).then_some(n * 10))
        })
        .await
        .unwrap();
        let expected: Vec<u64> = (0..20).filter(|n| n % 5 != 0).map(|n| n * 10).collect();
        assert_eq!(answers, expected);
    }

    #[tokio::test]
    async fn one_failed_call_fails_the_listing() {
        let result = each_bounded((0..10u32).collect(), |n| async move {
            if n == 7 {
                Err(CollectError::new(
                    ErrorKind::AccessDenied,
                    "sqs:ListQueueTags: denied",
                ))
            } else {
                Ok(Some(n))
            }
        })
        .await;
        assert_eq!(result.unwrap_err().kind, ErrorKind::AccessDenied);
    }
}
