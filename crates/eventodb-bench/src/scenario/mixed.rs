//! The `mixed` scenario, EventoDB's own load profile: 90 % `stream.write`, 10 % `stream.get`
//! (batch 100), each on a random one of a fixed set of streams.

use std::sync::Arc;

use bytes::Bytes;

use crate::body;
use crate::rng::Rng;
use crate::workload::{Generator, Workload};

struct Mixed {
    category: Arc<str>,
    streams: u64,
    rng: Rng,
    n: u64,
    pad: Arc<str>,
}

impl Generator for Mixed {
    fn next(&mut self) -> Bytes {
        self.n += 1;
        let stream = format!("{}-s{}", self.category, self.rng.below(self.streams));
        if self.rng.below(10) == 0 {
            body::stream_get(&stream, 100)
        } else {
            body::write(&stream, self.n, &self.pad, None)
        }
    }
}

/// The mixed workload over `streams` streams of `category`.
pub fn workload(category: &str, streams: u32, pad: &str) -> Workload {
    let category: Arc<str> = Arc::from(category);
    let pad: Arc<str> = Arc::from(pad);
    let streams = u64::from(streams.max(1));
    Arc::new(move |worker| {
        Box::new(Mixed {
            category: category.clone(),
            streams,
            rng: Rng::seeded(u64::from(worker) + 1),
            n: 0,
            pad: pad.clone(),
        })
    })
}
