//! The `read-stream` and `read-category` scenarios: a set-up that writes the data set, then
//! reads of 100 messages (by stream, or by category from a random global position, optionally
//! as member 0 of a consumer group).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;

use crate::body;
use crate::client::{Client, Reply};
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::target::Target;
use crate::workload::{Generator, Workload};

/// Messages per read.
const BATCH: u32 = 100;
/// Connections the set-up writes over.
const SETUP_CLIENTS: u64 = 8;

/// The data the set-up wrote.
#[derive(Debug, Clone)]
pub struct DataSet {
    /// Category of all its streams.
    pub category: String,
    /// Number of streams (`category-s0` …).
    pub streams: u32,
    /// Smallest global position written.
    pub first: i64,
    /// Largest global position written.
    pub last: i64,
}

/// Writes `messages` messages round-robin into `streams` streams of `category`.
pub async fn setup(
    target: &Arc<Target>,
    category: &str,
    streams: u32,
    messages: u32,
    pad: &str,
) -> Result<DataSet> {
    let streams = streams.max(1);
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..SETUP_CLIENTS.min(u64::from(messages).max(1)) {
        let mut client = Client::new(target.clone());
        let next = next.clone();
        let category = category.to_owned();
        let pad = pad.to_owned();
        tasks.push(tokio::spawn(async move {
            let (mut first, mut last) = (i64::MAX, i64::MIN);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= u64::from(messages) {
                    return Ok((first, last));
                }
                let stream = format!("{category}-s{}", i % u64::from(streams));
                match client.rpc(body::write(&stream, i, &pad, None)).await {
                    Reply::Ok(answer) => {
                        if let Some((_, global)) = body::write_result(&answer) {
                            first = first.min(global);
                            last = last.max(global);
                        }
                    }
                    other => {
                        return Err(Error::new(format!(
                            "set-up write failed: {}",
                            describe(&other)
                        )))
                    }
                }
            }
        }));
    }
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    for task in tasks {
        let (f, l) = task
            .await
            .map_err(|e| Error::new(format!("set-up task failed: {e}")))??;
        first = first.min(f);
        last = last.max(l);
    }
    if first > last {
        return Err(Error::new("set-up wrote nothing (use --messages > 0)"));
    }
    Ok(DataSet {
        category: category.to_owned(),
        streams,
        first,
        last,
    })
}

/// A failed reply in words.
pub(crate) fn describe(reply: &Reply) -> String {
    match reply {
        Reply::Transport(e) => e.clone(),
        other => other.error_label().unwrap_or_else(|| "ok".to_owned()),
    }
}

struct StreamReader {
    data: Arc<DataSet>,
    rng: Rng,
}

impl Generator for StreamReader {
    fn next(&mut self) -> Bytes {
        let s = self.rng.below(u64::from(self.data.streams));
        body::stream_get(&format!("{}-s{s}", self.data.category), BATCH)
    }
}

struct CategoryReader {
    data: Arc<DataSet>,
    group: Option<u32>,
    from_start: bool,
    rng: Rng,
}

impl Generator for CategoryReader {
    fn next(&mut self) -> Bytes {
        if self.from_start {
            return body::category_get(&self.data.category, self.data.first, BATCH, self.group);
        }
        // Start early enough that a full batch (of this member's share) usually remains.
        let span = i64::from(BATCH) * i64::from(self.group.unwrap_or(1).max(1));
        let last_start = (self.data.last - span).max(self.data.first);
        let range = u64::try_from(last_start - self.data.first + 1).unwrap_or(1);
        let start = self.data.first + i64::try_from(self.rng.below(range)).unwrap_or(0);
        body::category_get(&self.data.category, start, BATCH, self.group)
    }
}

/// Reads of 100 messages from a random stream of the data set.
pub fn stream_workload(data: DataSet) -> Workload {
    let data = Arc::new(data);
    Arc::new(move |worker| {
        Box::new(StreamReader {
            data: data.clone(),
            rng: Rng::seeded(u64::from(worker) + 1),
        })
    })
}

/// Reads of 100 messages of the category from a random position (or, with `from_start`, from
/// its first), optionally as member 0 of a consumer group of `group` members.
pub fn category_workload(data: DataSet, group: Option<u32>, from_start: bool) -> Workload {
    let data = Arc::new(data);
    Arc::new(move |worker| {
        Box::new(CategoryReader {
            data: data.clone(),
            group,
            from_start,
            rng: Rng::seeded(u64::from(worker) + 1),
        })
    })
}
