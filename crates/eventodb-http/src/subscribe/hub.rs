//! The subscription hub: an in-process fan-out of committed changes, per namespace, indexed so
//! that a write touches only the subscribers it matches (by stream, by category, all).
//!
//! The hub is a [`ChangeSink`]: backends publish into it after commit, in commit order. It
//! never does database work and never blocks a writer: each subscriber has a bounded queue,
//! and when that overflows the newest change is kept aside in one slot (replacing older ones)
//! so the subscriber later sends a single coalesced poke for everything it missed. Offering a
//! change wakes the subscriber's connection directly; there is no task per subscriber.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::task::Waker;

use eventodb_protocol::stream_name::category;
use eventodb_protocol::ConsumerGroup;
use eventodb_store::{Change, ChangeSink};

use super::params::Target;

/// Queue length per subscriber before changes are coalesced.
pub(crate) const QUEUE_LEN: usize = 256;

/// One subscriber, as the hub sees it: a bounded queue its connection drains.
pub(crate) struct Subscriber {
    queue: Mutex<Queue>,
    group: Option<ConsumerGroup>,
}

/// What a subscriber has been offered and not yet taken.
#[derive(Default)]
pub(crate) struct Queue {
    /// Changes in commit order; allocated only while something is waiting.
    pub(crate) changes: VecDeque<Change>,
    /// The newest change that did not fit in the queue; once set, later changes replace it
    /// (and skip the queue) until the connection takes it, so order is kept.
    pub(crate) overflow: Option<Change>,
    /// The connection task to wake when something arrives.
    waker: Option<Waker>,
}

impl Subscriber {
    fn offer(&self, change: &Change) {
        if let Some(group) = self.group {
            if !group.contains(&change.stream_name) {
                return;
            }
        }
        let waker = {
            let Ok(mut queue) = self.queue.lock() else {
                return;
            };
            if queue.overflow.is_some() || queue.changes.len() >= QUEUE_LEN {
                queue.overflow = Some(change.clone());
            } else {
                queue.changes.push_back(change.clone());
            }
            queue.waker.take()
        };
        // Wake outside the lock: the woken task takes the lock at once.
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Runs `take` on the queue; when it leaves nothing to send, `waker` is woken by the next
    /// change. `None` only if the lock is poisoned.
    pub(crate) fn drain<T>(&self, waker: &Waker, take: impl FnOnce(&mut Queue) -> T) -> Option<T> {
        let mut queue = self.queue.lock().ok()?;
        let taken = take(&mut queue);
        if queue.changes.is_empty() && queue.overflow.is_none() {
            match &queue.waker {
                Some(w) if w.will_wake(waker) => {}
                _ => queue.waker = Some(waker.clone()),
            }
        }
        Some(taken)
    }
}

type Set = HashMap<u64, Arc<Subscriber>>;

#[derive(Default)]
struct NamespaceIndex {
    streams: HashMap<String, Set>,
    categories: HashMap<String, Set>,
    all: Set,
    /// Subscribers in all three indexes.
    count: usize,
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
        crate::metrics::coalesced_poke();
    }

    /// Registers a subscriber; changes published from now on reach it.
    #[cfg(test)]
    pub(crate) fn register(self: &Arc<Self>, namespace: &str, target: Target) -> Registration {
        let registered = self.register_at_most(namespace, target, usize::MAX);
        registered.unwrap_or_else(|| unreachable!("no limit"))
    }

    /// Registers a subscriber unless `namespace` already has `max` of them (`None` then);
    /// changes published from now on reach it.
    pub(crate) fn register_at_most(
        self: &Arc<Self>,
        namespace: &str,
        target: Target,
        max: usize,
    ) -> Option<Registration> {
        let group = match &target {
            Target::Category(_, group) => *group,
            _ => None,
        };
        let subscriber = Arc::new(Subscriber {
            queue: Mutex::new(Queue::default()),
            group,
        });
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut map) = self.namespaces.write() {
            let index = map.entry(namespace.to_owned()).or_default();
            if index.count >= max {
                return None;
            }
            index.count += 1;
            let set = match &target {
                Target::Stream(s) => index.streams.entry(s.clone()).or_default(),
                Target::Category(c, _) => index.categories.entry(c.clone()).or_default(),
                Target::All => &mut index.all,
            };
            set.insert(id, subscriber.clone());
        }
        self.open.fetch_add(1, Ordering::Relaxed);
        Some(Registration {
            hub: self.clone(),
            namespace: namespace.to_owned(),
            target,
            id,
            subscriber,
        })
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
        index.count = index.count.saturating_sub(1);
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
        crate::metrics::commit_published(changes.len());
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

    /// Takes everything queued: (changes, overflow).
    fn take(reg: &Registration) -> (Vec<i64>, Option<i64>) {
        let waker = Waker::noop();
        reg.subscriber
            .drain(waker, |q| {
                (
                    q.changes.drain(..).map(|c| c.global_position).collect(),
                    q.overflow.take().map(|c| c.global_position),
                )
            })
            .unwrap()
    }

    #[test]
    fn a_write_reaches_only_matching_subscribers() {
        let hub = Arc::new(Hub::new());
        let stream = hub.register("ns", Target::Stream("cart-1".into()));
        let cat = hub.register("ns", Target::Category("cart".into(), None));
        let all = hub.register("ns", Target::All);
        let other_ns = hub.register("other", Target::All);
        let other_cat = hub.register("ns", Target::Category("order".into(), None));
        hub.publish("ns", &[change("cart-1", 0, 1), change("cart-2", 0, 2)]);
        assert_eq!(take(&stream), (vec![1], None));
        assert_eq!(take(&cat), (vec![1, 2], None));
        assert_eq!(take(&all), (vec![1, 2], None));
        assert_eq!(take(&other_ns), (vec![], None));
        assert_eq!(take(&other_cat), (vec![], None));
    }

    #[test]
    fn consumer_groups_filter_at_the_hub() {
        let hub = Arc::new(Hub::new());
        let m0 = hub.register("ns", Target::Category("c".into(), ConsumerGroup::new(0, 2)));
        let m1 = hub.register("ns", Target::Category("c".into(), ConsumerGroup::new(1, 2)));
        // Cardinal ids 1..4 map to members 0, 1, 0, 1 (PROTOCOL §4).
        let changes: Vec<_> = (1..=4).map(|i| change(&format!("c-{i}"), 0, i)).collect();
        hub.publish("ns", &changes);
        assert_eq!(take(&m0), (vec![1, 3], None));
        assert_eq!(take(&m1), (vec![2, 4], None));
    }

    #[test]
    fn overflow_keeps_only_the_newest_and_preserves_order() {
        let hub = Arc::new(Hub::new());
        let reg = hub.register("ns", Target::All);
        let total = QUEUE_LEN as i64 + 10;
        for g in 1..=total {
            hub.publish("ns", &[change("s", g - 1, g)]);
        }
        let (queued, overflow) = take(&reg);
        assert_eq!(queued, (1..=QUEUE_LEN as i64).collect::<Vec<_>>());
        assert_eq!(overflow, Some(total));
        // Once taken, the queue is used again.
        hub.publish("ns", &[change("s", total, total + 1)]);
        assert_eq!(take(&reg), (vec![total + 1], None));
    }

    #[test]
    fn a_waiting_connection_is_woken() {
        use std::sync::atomic::AtomicBool;
        use std::task::Wake;
        struct Flag(AtomicBool);
        impl Wake for Flag {
            fn wake(self: Arc<Self>) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let hub = Arc::new(Hub::new());
        let reg = hub.register("ns", Target::All);
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        assert_eq!(reg.subscriber.drain(&waker, |q| q.changes.len()), Some(0));
        hub.publish("ns", &[change("s", 0, 1)]);
        assert!(flag.0.load(Ordering::SeqCst));
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

    #[test]
    fn registrations_per_namespace_are_bounded() {
        let hub = Arc::new(Hub::new());
        let a = hub.register_at_most("ns", Target::All, 2);
        let b = hub.register_at_most("ns", Target::Stream("s-1".into()), 2);
        assert!(a.is_some() && b.is_some());
        assert!(hub
            .register_at_most("ns", Target::Category("s".into(), None), 2)
            .is_none());
        assert!(hub.register_at_most("other", Target::All, 2).is_some());
        drop(a);
        assert!(hub.register_at_most("ns", Target::All, 2).is_some());
    }
}
