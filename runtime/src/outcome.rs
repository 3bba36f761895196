//! Every outcome known: once a call may have written, each later failure of the same
//! call says so, as an ambiguous error ("may have written": re-send through the
//! upsert) or with the id of the record written. Generated actions call these around
//! the steps that follow a write and for a create's retry through its upsert key.

use crate::runtime::wait_before_retry;
use crate::{Error, ProviderSpec, Written};
use std::future::Future;
use std::time::{Duration, Instant};

/// What a retry through the upsert key is called in the errors it ends with.
const UPSERT_RETRY: &str = "the retry through its upsert key";

/// Runs `step`, a later step of a call that wrote the record `id` (or may have, when
/// `id` is `None`): a failure of the step becomes [`Error::AfterWrite`], so the caller
/// is never told "failed" for a record that exists.
pub async fn after_write<T>(
    provider: &ProviderSpec,
    id: Option<&str>,
    step: &str,
    work: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    work.await
        .map_err(|error| error.after_write(provider.name, id, step))
}

/// A create with its retry through the upsert key. A failure after which the record
/// may exist (a connection cut after sending, a 5xx, an unreadable answer, a step
/// after the write) is retried through `upsert`, which finds the record the first
/// attempt made instead of making a second one; the wait before each retry is the
/// `Retry-After` the provider asked for, or backoff. From the first such failure on,
/// the call's error says "may have written", or names the record when one is known.
pub async fn create_with_upsert_fallback<T, C, U>(
    provider: &ProviderSpec,
    create: C,
    upsert: impl Fn() -> U,
) -> Result<T, Error>
where
    C: Future<Output = Result<T, Error>>,
    U: Future<Output = Result<T, Error>>,
{
    let policy = provider.retry;
    let started = Instant::now();
    let mut outcome = create.await;
    let mut attempt = 1;
    let mut may_exist = false;
    let mut known_id: Option<String> = None;
    loop {
        let error = match outcome {
            Ok(record) => return Ok(record),
            Err(error) => error,
        };
        if let Some(id) = error.written_id() {
            known_id = Some(id.to_string());
        }
        may_exist |= error.written() != Written::No;
        if !may_exist {
            // Nothing was written: the create's own refusal is the answer.
            return Err(error);
        }
        let error = mark_written(error, provider, known_id.as_deref());
        let wait = (attempt < policy.max_attempts && error.is_transient())
            .then(|| wait_before_retry(&policy, error.retry_after(), attempt, started.elapsed()))
            .flatten();
        let Some(wait) = wait else {
            return Err(error);
        };
        tracing::info!(
            attempt,
            wait_ms = wait.as_millis() as u64,
            reason = %error,
            "the create may have gone through: retrying through its upsert key"
        );
        tokio::time::sleep(wait).await;
        attempt += 1;
        outcome = upsert().await;
    }
}

/// `error`, from a call in which a record may exist (or `known_id` does), saying so.
pub(crate) fn mark_written(error: Error, provider: &ProviderSpec, known_id: Option<&str>) -> Error {
    match (error.written(), known_id) {
        (Written::Yes(_), _) => error,
        (_, Some(id)) => error.after_write(provider.name, Some(id), UPSERT_RETRY),
        (Written::Maybe, None) => error,
        (Written::No, None) => error.after_write(provider.name, None, UPSERT_RETRY),
    }
}

/// The pause before a fallback that re-sends after `error` (a batch sent again input
/// by input): the `Retry-After` it carries, else backoff after an ambiguous failure,
/// else none. `None` when the provider asked for more than the policy's cap.
pub(crate) fn pause_before_fallback(provider: &ProviderSpec, error: &Error) -> Option<Duration> {
    match error.retry_after() {
        Some(asked) => wait_before_retry(&provider.retry, Some(asked), 1, Duration::ZERO),
        None if error.is_ambiguous() => Some(crate::runtime::backoff(&provider.retry, 1)),
        None => Some(Duration::ZERO),
    }
}
