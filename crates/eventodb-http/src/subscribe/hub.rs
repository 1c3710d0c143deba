//! The subscription hub: an in-process fan-out of committed changes, per namespace, indexed so
//! that a write touches only the subscribers it matches (by stream, by category, all).
//!
//! The hub is a [`ChangeSink`]: backends publish into it after commit, in commit order. It
//! never does database work and never blocks a writer: each subscriber has a bounded queue,
//! and when that overflows the newest change is kept aside in one slot (replacing older ones)
//! so the subscriber later sends a single coalesced poke for everything it missed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use eventodb_protocol::stream_name::category;
use eventodb_protocol::ConsumerGroup;
use eventodb_store::{Change, ChangeSink};
use tokio::sync::{mpsc, Notify};

use super::params::Target;

/// Queue length per subscriber before changes are coalesced.
pub(crate) const QUEUE_LEN: usize = 256;

/// One subscriber, as the hub sees it.
pub(crate) struct Subscriber {
    queue: mpsc::Sender<Change>,
    /// The newest change that did not fit in the queue; once set, later changes replace it
    /// (and skip the queue) until the subscriber takes it, so order is kept.
    overflow: Mutex<Option<Change>>,
    /// Woken when `overflow` is set.
    pub(crate) overflowed: Notify,
    group: Option<ConsumerGroup>,
}

impl Subscriber {
    fn offer(&self, change: &Change) {
        if let Some(group) = self.group {
            if !group.contains(&change.stream_name) {
                return;
            }
        }
        let Ok(mut slot) = self.overflow.lock() else {
            return;
        };
        if slot.is_some() {
            *slot = Some(change.clone());
            return;
        }
        match self.queue.try_send(change.clone()) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(change)) => {
                *slot = Some(change);
                drop(slot);
                self.overflowed.notify_one();
            }
            // The connection is gone; its registration is about to be dropped.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    /// Takes the coalesced change, if any, letting later changes use the queue again.
    pub(crate) fn take_overflow(&self) -> Option<Change> {
        self.overflow.lock().ok().and_then(|mut slot| slot.take())
    }
}

type Set = HashMap<u64, Arc<Subscriber>>;

#[derive(Default)]
struct NamespaceIndex {
    streams: HashMap<String, Set>,
    categories: HashMap<String, Set>,
    all: Set,
}

impl NamespaceIndex {
    fn is_empty(&self) -> bool {
        self.streams.is_empty() && self.categories.is_empty() && self.all.is_empty()
    }
}

/// The fan-out of every namespace.
#[derive(Default)]
pub struct Hub {
    namespaces: RwLock<HashMap<String, NamespaceIndex>>,
    next_id: AtomicU64,
    open: AtomicU64,
    coalesced: AtomicU64,
}

/// A live registration; dropping it unregisters the subscriber.
pub(crate) struct Registration {
    hub: Arc<Hub>,
    namespace: String,
    target: Target,
    id: u64,
    pub(crate) subscriber: Arc<Subscriber>,
    pub(crate) changes: mpsc::Receiver<Change>,
}

impl Hub {
    /// An empty hub.
    pub fn new() -> Self {
        Self::default()
    }

    /// Open subscriptions across all namespaces.
    pub fn subscriptions(&self) -> u64 {
        self.open.load(Ordering::Relaxed)
    }

    /// Coalesced pokes sent so far (each stands for changes a slow subscriber missed).
    pub fn coalesced_pokes(&self) -> u64 {
        self.coalesced.load(Ordering::Relaxed)
    }

    pub(crate) fn count_coalesced(&self) {
        self.coalesced.fetch_add(1, Ordering::Relaxed);
    }

    /// Registers a subscriber; changes published from now on reach it.
    pub(crate) fn register(self: &Arc<Self>, namespace: &str, target: Target) -> Registration {
        let (tx, rx) = mpsc::channel(QUEUE_LEN);
        let group = match &target {
            Target::Category(_, group) => *group,
            _ => None,
        };
        let subscriber = Arc::new(Subscriber {
            queue: tx,
            overflow: Mutex::new(None),
            overflowed: Notify::new(),
            group,
        });
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut map) = self.namespaces.write() {
            let index = map.entry(namespace.to_owned()).or_default();
            let set = match &target {
                Target::Stream(s) => index.streams.entry(s.clone()).or_default(),
                Target::Category(c, _) => index.categories.entry(c.clone()).or_default(),
                Target::All => &mut index.all,
            };
            set.insert(id, subscriber.clone());
        }
        self.open.fetch_add(1, Ordering::Relaxed);
        Registration {
            hub: self.clone(),
            namespace: namespace.to_owned(),
            target,
            id,
            subscriber,
            changes: rx,
        }
    }

    fn unregister(&self, namespace: &str, target: &Target, id: u64) {
        let Ok(mut map) = self.namespaces.write() else {
            return;
        };
        let Some(index) = map.get_mut(namespace) else {
            return;
        };
        fn remove(sets: &mut HashMap<String, Set>, key: &str, id: u64) {
            if let Some(set) = sets.get_mut(key) {
                set.remove(&id);
                if set.is_empty() {
                    sets.remove(key);
                }
            }
        }
        match target {
            Target::Stream(s) => remove(&mut index.streams, s, id),
            Target::Category(c, _) => remove(&mut index.categories, c, id),
            Target::All => {
                index.all.remove(&id);
            }
        }
        if index.is_empty() {
            map.remove(namespace);
        }
        self.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.unregister(&self.namespace, &self.target, self.id);
    }
}

impl ChangeSink for Hub {
    fn publish(&self, namespace: &str, changes: &[Change]) {
        let Ok(map) = self.namespaces.read() else {
            return;
        };
        let Some(index) = map.get(namespace) else {
            return;
        };
        for change in changes {
            if let Some(set) = index.streams.get(&change.stream_name) {
                set.values().for_each(|s| s.offer(change));
            }
            if let Some(set) = index.categories.get(category(&change.stream_name)) {
                set.values().for_each(|s| s.offer(change));
            }
            index.all.values().for_each(|s| s.offer(change));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(stream: &str, position: i64, global_position: i64) -> Change {
        Change {
            stream_name: stream.into(),
            position,
            global_position,
        }
    }

    #[test]
    fn a_write_reaches_only_matching_subscribers() {
        let hub = Arc::new(Hub::new());
        let mut stream = hub.register("ns", Target::Stream("cart-1".into()));
        let mut cat = hub.register("ns", Target::Category("cart".into(), None));
        let mut all = hub.register("ns", Target::All);
        let mut other_ns = hub.register("other", Target::All);
        let mut other_cat = hub.register("ns", Target::Category("order".into(), None));
        hub.publish("ns", &[change("cart-1", 0, 1), change("cart-2", 0, 2)]);
        assert_eq!(stream.changes.try_recv().unwrap().global_position, 1);
        assert!(stream.changes.try_recv().is_err());
        assert_eq!(cat.changes.try_recv().unwrap().global_position, 1);
        assert_eq!(cat.changes.try_recv().unwrap().global_position, 2);
        assert_eq!(all.changes.try_recv().unwrap().global_position, 1);
        assert!(other_ns.changes.try_recv().is_err());
        assert!(other_cat.changes.try_recv().is_err());
    }

    #[test]
    fn consumer_groups_filter_at_the_hub() {
        let hub = Arc::new(Hub::new());
        let mut m0 = hub.register("ns", Target::Category("c".into(), ConsumerGroup::new(0, 2)));
        let mut m1 = hub.register("ns", Target::Category("c".into(), ConsumerGroup::new(1, 2)));
        // Cardinal ids 1..4 map to members 0, 1, 0, 1 (PROTOCOL §4).
        let changes: Vec<_> = (1..=4).map(|i| change(&format!("c-{i}"), 0, i)).collect();
        hub.publish("ns", &changes);
        let got0: Vec<_> = std::iter::from_fn(|| m0.changes.try_recv().ok()).collect();
        let got1: Vec<_> = std::iter::from_fn(|| m1.changes.try_recv().ok()).collect();
        assert_eq!(
            got0.iter().map(|c| c.global_position).collect::<Vec<_>>(),
            [1, 3]
        );
        assert_eq!(
            got1.iter().map(|c| c.global_position).collect::<Vec<_>>(),
            [2, 4]
        );
    }

    #[test]
    fn overflow_keeps_only_the_newest_and_preserves_order() {
        let hub = Arc::new(Hub::new());
        let mut reg = hub.register("ns", Target::All);
        let total = QUEUE_LEN as i64 + 10;
        for g in 1..=total {
            hub.publish("ns", &[change("s", g - 1, g)]);
        }
        let queued: Vec<_> = std::iter::from_fn(|| reg.changes.try_recv().ok()).collect();
        assert_eq!(queued.len(), QUEUE_LEN);
        assert_eq!(queued.last().unwrap().global_position, QUEUE_LEN as i64);
        // Changes published while the slot is full skip the queue and replace the slot.
        hub.publish("ns", &[change("s", total, total + 1)]);
        assert!(reg.changes.try_recv().is_err());
        assert_eq!(
            reg.subscriber.take_overflow().unwrap().global_position,
            total + 1
        );
        hub.publish("ns", &[change("s", total + 1, total + 2)]);
        assert_eq!(reg.changes.try_recv().unwrap().global_position, total + 2);
    }

    #[test]
    fn dropping_a_registration_unregisters() {
        let hub = Arc::new(Hub::new());
        let reg = hub.register("ns", Target::Stream("s".into()));
        assert_eq!(hub.subscriptions(), 1);
        drop(reg);
        assert_eq!(hub.subscriptions(), 0);
        assert!(hub.namespaces.read().unwrap().is_empty());
    }
}
