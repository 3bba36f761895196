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

/// How much wider than the declared limit shared (multi-process) slots are spaced.
const SHARED_HEADROOM: f64 = 1.10;

/// (provider, connection id, index of the declared limit).
type LimiterKey = (String, String, usize);

/// A rate shared with other processes (the queue's store): reserves the next send
/// slot of `key`, one every `interval`, and says how long to wait for it.
pub(crate) trait SharedPacing: Send + Sync + std::fmt::Debug {
    fn reserve<'a>(
        &'a self,
        key: &'a str,
        interval: Duration,
    ) -> futures_util::future::BoxFuture<'a, Result<Duration, crate::Error>>;
}

/// One limiter per (provider, connection, declared limit).
#[derive(Clone, Debug, Default)]
pub(crate) struct Pacer {
    /// When set, budgets are kept there (shared by every worker process) instead of in
    /// this process's limiters.
    pub(crate) shared: Option<Arc<dyn SharedPacing>>,
    limiters: Arc<Mutex<HashMap<LimiterKey, Arc<DefaultDirectRateLimiter>>>>,
    /// (provider, connection) → no request before this instant (the provider said the
    /// budget is spent).
    paused: Arc<Mutex<HashMap<(String, String), tokio::time::Instant>>>,
    /// (provider, connection) → the long-term allocation is spent (or down to the
    /// connection's reserve) until the instant; requests are refused before sending.
    exhausted: Arc<Mutex<HashMap<(String, String), Exhausted>>>,
}

/// What a usage header last reported for a connection whose allocation is spent.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Exhausted {
    pub until: tokio::time::Instant,
    pub used: u64,
    pub limit: u64,
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

    /// Records what a usage header reported: at or past `limit - reserve`, the
    /// connection refuses requests until `recheck` has passed; below it, it is open.
    pub(crate) fn usage(
        &self,
        provider: &ProviderSpec,
        connection: &Connection,
        used: u64,
        limit: u64,
        recheck: Duration,
    ) {
        let key = (provider.name.to_string(), connection.id().to_string());
        let mut exhausted = self
            .exhausted
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if used.saturating_add(connection.quota_reserve()) >= limit {
            exhausted.insert(
                key,
                Exhausted {
                    until: tokio::time::Instant::now() + recheck,
                    used,
                    limit,
                },
            );
        } else {
            exhausted.remove(&key);
        }
    }

    /// The spent allocation that refuses this connection's requests now, if any.
    pub(crate) fn exhausted(
        &self,
        provider: &ProviderSpec,
        connection: &Connection,
    ) -> Option<Exhausted> {
        let exhausted = self
            .exhausted
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        exhausted
            .get(&(provider.name.to_string(), connection.id().to_string()))
            .filter(|spent| spent.until > tokio::time::Instant::now())
            .copied()
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
            let requests = limit.requests_for(connection);
            if let Some(shared) = &self.shared {
                let key = format!("{}/{}/{index}", provider.name, connection.id());
                // 10% wider than the limit: processes on busy machines wake late and
                // a provider counts by arrival, so slots that left evenly can arrive
                // bunched; the room absorbs a stall of a tenth of the window.
                let interval = period(limit.per_ms, requests).mul_f64(SHARED_HEADROOM);
                if self.shared_slot(shared.as_ref(), &key, interval).await {
                    continue;
                }
            }
            let (limiter, cells) =
                self.limiter(provider.name, connection.id(), index, limit, requests);
            if limiter.until_n_ready(cells).await.is_err() {
                // Cannot happen (a request never costs more than the burst); pace by
                // one cell rather than not at all.
                limiter.until_ready().await;
            }
        }
    }

    /// Waits for a slot of the shared rate `key`. A task that wakes up more than half
    /// an interval after its slot (a busy machine) takes a new one instead of sending
    /// late right beside the next slot's owner, which would put two requests where the
    /// provider allows one. False when the store failed.
    async fn shared_slot(&self, shared: &dyn SharedPacing, key: &str, interval: Duration) -> bool {
        for _ in 0..4 {
            match shared.reserve(key, interval).await {
                Ok(wait) => {
                    let slot = tokio::time::Instant::now() + wait;
                    tokio::time::sleep_until(slot).await;
                    if slot.elapsed() <= interval / 2 {
                        return true;
                    }
                }
                // The store is unreachable: pace in this process rather than not at all.
                Err(error) => {
                    tracing::warn!(%error, "shared pacing failed; pacing locally");
                    return false;
                }
            }
        }
        // Late four times over: the machine is too busy for exact slots; send anyway.
        true
    }

    fn limiter(
        &self,
        provider: &str,
        connection: &str,
        index: usize,
        limit: &RateLimit,
        requests: u32,
    ) -> (Arc<DefaultDirectRateLimiter>, NonZeroU32) {
        let (quota, cells) = quota(limit.per_ms, requests);
        let mut limiters = self.limiters.lock().unwrap_or_else(PoisonError::into_inner);
        let limiter = limiters
            .entry((provider.to_string(), connection.to_string(), index))
            .or_insert_with(|| Arc::new(RateLimiter::direct(quota)))
            .clone();
        (limiter, cells)
    }
}

/// The spacing of `requests` per `per_ms`, 2% wider (see [`quota`]).
fn period(per_ms: u64, requests: u32) -> Duration {
    let requests = u64::from(requests.max(1));
    let period_nanos = per_ms.saturating_mul(1_020_000) / requests;
    Duration::from_nanos(period_nanos.max(1))
}

/// Evenly spaced: one request every `T = 1.02 · per / n`, 2% slower than the limit.
///
/// A request costs `k` cells of a GCRA whose burst is `k + 1` cells: a task that wakes
/// up late for its slot (timers have millisecond granularity) keeps up to `T / k` of
/// credit instead of pushing every later slot back, which at 100 requests per second
/// would lose 5% of the budget. `k = ⌈204 / n⌉` keeps that credit within 0.5% of the
/// window, so the other 1.5% of slack absorbs requests that arrive closer together
/// than they were sent (the provider counts arrivals): sends a credit of `τ` apart and
/// arrivals up to `J` apart put at most `⌊(W + τ + J) / T⌋ + 1` in any window `W`,
/// which is `≤ n` while `τ + J < 2% · W`.
fn quota(per_ms: u64, requests: u32) -> (Quota, NonZeroU32) {
    let cells = 204u32.div_ceil(requests.max(1));
    let period = period(per_ms, requests);
    let cell = Duration::from_nanos((period.as_nanos() / u128::from(cells)).max(1) as u64);
    let cells = NonZeroU32::new(cells).unwrap_or(NonZeroU32::MIN);
    let burst = cells.checked_add(1).unwrap_or(cells);
    let quota = Quota::with_period(cell)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst);
    (quota, cells)
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::{Clock, FakeRelativeClock, Reference};

    /// Sends as fast as the limiter allows, each send up to 3 ms late (a busy timer),
    /// and counts the most sends any window of the declared length (plus 1.5% for
    /// arrivals closer than sends) holds.
    fn busiest_window(per_ms: u64, requests: u32, sends: usize) -> usize {
        let (quota, cells) = quota(per_ms, requests);
        let clock = FakeRelativeClock::default();
        let limiter = RateLimiter::direct_with_clock(quota, clock.clone());
        let start = clock.now();
        let mut times: Vec<Duration> = Vec::new();
        let mut lateness = 0u64;
        while times.len() < sends {
            match limiter.check_n(cells) {
                Ok(Ok(())) => times.push(clock.now().duration_since(start).into()),
                Ok(Err(not_until)) => {
                    // Wake late by 0..3 ms, varying from send to send.
                    lateness = (lateness * 7 + 13) % 3_000;
                    let wait = not_until.wait_time_from(clock.now());
                    clock.advance(wait + Duration::from_micros(lateness));
                }
                Err(_) => panic!("a request costs more than the burst"),
            }
        }
        let window = Duration::from_millis(per_ms * 1015 / 1000);
        (0..times.len())
            .map(|first| {
                times[first..]
                    .iter()
                    .take_while(|t| **t - times[first] < window)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn no_window_of_the_declared_length_holds_more_than_the_budget() {
        for (per_ms, requests) in [
            (1000, 100),
            (1000, 25),
            (10_000, 100),
            (10_000, 190),
            (1000, 10),
            (1000, 3),
            (60_000, 1000),
        ] {
            let busiest = busiest_window(per_ms, requests, requests as usize * 5);
            assert!(
                busiest <= requests as usize,
                "{requests} per {per_ms} ms: a window held {busiest}"
            );
        }
    }

    #[test]
    fn late_wake_ups_do_not_push_later_slots_back() {
        // 1,000 sends at 100 per second, each up to 3 ms late, still take about
        // 999 periods of 10.2 ms: lateness is absorbed, not accumulated.
        let (quota, cells) = quota(1000, 100);
        let clock = FakeRelativeClock::default();
        let limiter = RateLimiter::direct_with_clock(quota, clock.clone());
        let start = clock.now();
        let mut sent = 0;
        let mut lateness = 0u64;
        while sent < 1000 {
            match limiter.check_n(cells) {
                Ok(Ok(())) => sent += 1,
                Ok(Err(not_until)) => {
                    lateness = (lateness * 7 + 13) % 3_000;
                    let wait = not_until.wait_time_from(clock.now());
                    clock.advance(wait + Duration::from_micros(lateness));
                }
                Err(_) => panic!("a request costs more than the burst"),
            }
        }
        let elapsed: Duration = clock.now().duration_since(start).into();
        let ideal = Duration::from_micros(10_200 * 999);
        assert!(
            elapsed < ideal + Duration::from_millis(200),
            "{elapsed:?} for an ideal of {ideal:?}"
        );
    }
}
