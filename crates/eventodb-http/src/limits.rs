//! Limits that protect the server from one client or one tenant: the per-namespace request
//! rate (a token bucket per namespace) and the count of open connections. The other limits
//! (message size, body size, header read timeout, subscriptions per namespace) are checked
//! where the thing they bound is read or registered.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A per-namespace request rate: `per_second` requests on average, bursts up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Tokens added to a namespace's bucket per second.
    pub per_second: f64,
    /// The bucket's size: requests a quiet namespace may send at once.
    pub burst: f64,
}

/// Buckets kept before idle (full) ones are forgotten.
const MAX_BUCKETS: usize = 10_000;

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Token buckets, one per namespace; only built when a rate limit is configured.
pub(crate) struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token from `namespace`'s bucket; `Err(wait)` when it is empty, with how long
    /// until a token is there.
    pub(crate) fn check(&self, namespace: &str) -> Result<(), Duration> {
        self.check_at(namespace, Instant::now())
    }

    fn check_at(&self, namespace: &str, now: Instant) -> Result<(), Duration> {
        let RateLimit { per_second, burst } = self.limit;
        let Ok(mut buckets) = self.buckets.lock() else {
            // A poisoned map only ever held counters: let the request through.
            return Ok(());
        };
        if !buckets.contains_key(namespace) && buckets.len() >= MAX_BUCKETS {
            // Forget namespaces whose bucket has refilled: they behave as new ones.
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.updated).as_secs_f64() * per_second < burst
            });
        }
        let bucket = buckets
            .entry(namespace.to_owned())
            .or_insert_with(|| Bucket {
                tokens: burst,
                updated: now,
            });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / per_second;
            Err(Duration::from_secs_f64(wait.clamp(0.0, 3600.0)))
        }
    }
}

/// Counts open connections against a maximum.
pub(crate) struct Connections {
    open: AtomicUsize,
    max: usize,
}

/// One open connection; dropping it frees its slot.
pub(crate) struct ConnectionSlot(Arc<Connections>);

impl Connections {
    pub(crate) fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            open: AtomicUsize::new(0),
            max,
        })
    }

    /// A slot for a new connection, or `None` when `max` are open.
    pub(crate) fn acquire(self: &Arc<Self>) -> Option<ConnectionSlot> {
        let mut open = self.open.load(Ordering::Relaxed);
        loop {
            if open >= self.max {
                return None;
            }
            match self.open.compare_exchange_weak(
                open,
                open + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    crate::metrics::connections_changed(1);
                    return Some(ConnectionSlot(self.clone()));
                }
                Err(now) => open = now,
            }
        }
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
        crate::metrics::connections_changed(-1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_a_burst_then_the_rate() {
        let limiter = RateLimiter::new(RateLimit {
            per_second: 10.0,
            burst: 3.0,
        });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at("a", t0).is_ok());
        }
        let wait = limiter.check_at("a", t0).err();
        assert!(wait.is_some_and(|w| w <= Duration::from_millis(100)));
        // Another namespace has its own bucket.
        assert!(limiter.check_at("b", t0).is_ok());
        // A tenth of a second later one more token is there, and only one.
        let t1 = t0 + Duration::from_millis(100);
        assert!(limiter.check_at("a", t1).is_ok());
        assert!(limiter.check_at("a", t1).is_err());
    }

    #[test]
    fn connection_slots_are_bounded_and_freed() {
        let connections = Connections::new(2);
        let a = connections.acquire();
        let b = connections.acquire();
        assert!(a.is_some() && b.is_some());
        assert!(connections.acquire().is_none());
        drop(a);
        assert!(connections.acquire().is_some());
    }
}
