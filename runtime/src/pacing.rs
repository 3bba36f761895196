//! Pacing: each connection spends its provider's request budget evenly, so requests
//! wait before sending instead of being refused with 429s. Budgets are per connection
//! (one customer's burst never slows another) and shared by every task using it.

use crate::provider::{ProviderSpec, RateLimit, RateScope};
use crate::{Connection, Request};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// (provider, connection id, index of the declared limit).
type LimiterKey = (String, String, usize);

/// One limiter per (provider, connection, declared limit).
#[derive(Clone, Debug, Default)]
pub(crate) struct Pacer {
    limiters: Arc<Mutex<HashMap<LimiterKey, Arc<DefaultDirectRateLimiter>>>>,
    /// (provider, connection) → no request before this instant (the provider said the
    /// budget is spent).
    paused: Arc<Mutex<HashMap<(String, String), tokio::time::Instant>>>,
}

impl Pacer {
    /// Holds every request of this connection until `until`.
    pub(crate) fn pause(
        &self,
        provider: &ProviderSpec,
        connection: &Connection,
        until: tokio::time::Instant,
    ) {
        let mut paused = self.paused.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = paused
            .entry((provider.name.to_string(), connection.id().to_string()))
            .or_insert(until);
        *slot = (*slot).max(until);
    }

    /// Waits until every budget that counts `request` has room for it.
    pub(crate) async fn ready(
        &self,
        provider: &ProviderSpec,
        connection: &Connection,
        request: &Request,
    ) {
        let until = self
            .paused
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(provider.name.to_string(), connection.id().to_string()))
            .copied();
        if let Some(until) = until
            && until > tokio::time::Instant::now()
        {
            tracing::info!(
                provider = provider.name,
                connection = connection.id(),
                "budget spent: waiting for the provider's window"
            );
            tokio::time::sleep_until(until).await;
        }
        for (index, limit) in provider.rate_limits.iter().enumerate() {
            let counts = match limit.scope {
                RateScope::All => true,
                RateScope::Reads => request.reads,
                RateScope::Writes => !request.reads,
            };
            if !counts {
                continue;
            }
            let limiter = self.limiter(provider.name, connection.id(), index, limit);
            limiter.until_ready().await;
        }
    }

    fn limiter(
        &self,
        provider: &str,
        connection: &str,
        index: usize,
        limit: &RateLimit,
    ) -> Arc<DefaultDirectRateLimiter> {
        let mut limiters = self.limiters.lock().unwrap_or_else(PoisonError::into_inner);
        limiters
            .entry((provider.to_string(), connection.to_string(), index))
            .or_insert_with(|| Arc::new(RateLimiter::direct(quota(limit))))
            .clone()
    }
}

/// Evenly spaced: one request every `per / requests`, 1% slower than the limit so a
/// provider's sliding window never counts one too many. A burst of one keeps any
/// window of the declared length within the budget.
fn quota(limit: &RateLimit) -> Quota {
    let requests = u64::from(limit.requests.max(1));
    let period_nanos = limit.per_ms.saturating_mul(1_010_000) / requests;
    let period = Duration::from_nanos(period_nanos.max(1));
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::MIN)
}
