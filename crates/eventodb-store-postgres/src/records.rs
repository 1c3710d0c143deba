//! The namespace records a process has read, kept for authentication so a request does not
//! pay a registry round trip.
//!
//! Every change to a registry row notifies `eventodb_registry` with the namespace id at
//! commit (a trigger, `sql/postgres/registry/003_notify.sql`), and the change feed's listening
//! connection drops the entry ([`Records::forget`]). The cache is only used while that
//! connection is up ([`Records::set_live`]): a process that cannot hear notifications (poll
//! mode, or the listener reconnecting) reads the registry every time. An entry is also never
//! older than [`MAX_AGE`], which bounds what a notification lost without the connection
//! noticing could cost. A generation counter keeps a read that raced with a notification from
//! storing what it read before the change.
//!
//! So a rotated token stops working in this process at once, and in the other processes
//! when the notification arrives (normally within milliseconds of the commit).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

use eventodb_store::NamespaceRecord;

/// The longest an entry is trusted.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(5);

/// The notification channel of registry changes.
pub(crate) const CHANNEL: &str = "eventodb_registry";

/// Cached namespace records by id.
#[derive(Default)]
pub(crate) struct Records {
    entries: RwLock<HashMap<String, (NamespaceRecord, Instant)>>,
    /// Bumped by every forget; a read stores its result only if it did not change meanwhile.
    generation: AtomicU64,
    /// Notifications are being heard.
    live: AtomicBool,
}

impl Records {
    /// The cached record of `id`, if the cache is live and the entry fresh.
    pub(crate) fn get(&self, id: &str) -> Option<NamespaceRecord> {
        if !self.live.load(Ordering::Acquire) {
            return None;
        }
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        match entries.get(id) {
            Some((record, at)) if at.elapsed() < MAX_AGE => Some(record.clone()),
            _ => None,
        }
    }

    /// The generation to pass to [`Records::put`]; read it before reading the registry.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps `record`, read from the registry after [`Records::generation`] returned
    /// `generation`, unless something was forgotten since (or the cache is not live).
    pub(crate) fn put(&self, record: &NamespaceRecord, generation: u64) {
        if !self.live.load(Ordering::Acquire) {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        // Checked under the write lock: `forget` bumps the generation under it too.
        if self.generation.load(Ordering::Acquire) == generation {
            entries.insert(record.id.clone(), (record.clone(), Instant::now()));
        }
    }

    /// Drops the entry of `id` (its registry row changed).
    pub(crate) fn forget(&self, id: &str) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.remove(id);
    }

    /// Turns the cache on (notifications are heard from now on) or off; either way it starts
    /// empty.
    pub(crate) fn set_live(&self, live: bool) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
        self.live.store(live, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, hash: &str) -> NamespaceRecord {
        NamespaceRecord {
            id: id.into(),
            token_hash: hash.into(),
            description: String::new(),
            created_at: 0,
        }
    }

    #[test]
    fn nothing_is_cached_unless_live() {
        let records = Records::default();
        records.put(&record("a", "h1"), records.generation());
        assert_eq!(records.get("a"), None);
        records.set_live(true);
        records.put(&record("a", "h1"), records.generation());
        assert_eq!(records.get("a").map(|r| r.token_hash), Some("h1".into()));
        records.set_live(false);
        assert_eq!(records.get("a"), None, "going offline empties the cache");
    }

    #[test]
    fn a_read_that_raced_with_a_change_is_not_kept() {
        let records = Records::default();
        records.set_live(true);
        let before = records.generation();
        // The registry row changes (and is notified) while the read is in flight.
        records.forget("a");
        records.put(&record("a", "old"), before);
        assert_eq!(records.get("a"), None);
        records.put(&record("a", "new"), records.generation());
        assert_eq!(records.get("a").map(|r| r.token_hash), Some("new".into()));
        records.forget("a");
        assert_eq!(records.get("a"), None);
    }
}
