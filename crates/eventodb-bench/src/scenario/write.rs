//! The `write` scenario: `stream.write` to one stream per client or to one shared stream,
//! optionally with `expectedVersion` from the writer's own counter.

use std::sync::Arc;

use bytes::Bytes;

use crate::args::StreamMode;
use crate::body;
use crate::client::Reply;
use crate::workload::{Generator, Workload};

/// Settings of the write scenario.
#[derive(Debug, Clone)]
pub struct WriteSpec {
    /// Category of the streams written (new per run).
    pub category: String,
    /// Own stream per worker, or one shared stream.
    pub streams: StreamMode,
    /// Send `expectedVersion`.
    pub expected_version: bool,
    /// Padding in each message.
    pub pad: String,
}

struct Writer {
    stream: String,
    n: u64,
    /// The version this writer believes the stream has (−1: empty).
    version: i64,
    expected: bool,
    pad: Arc<str>,
}

impl Generator for Writer {
    fn next(&mut self) -> Bytes {
        self.n += 1;
        let expected = self.expected.then_some(self.version);
        body::write(&self.stream, self.n, &self.pad, expected)
    }

    fn observe(&mut self, reply: &Reply) {
        match reply {
            Reply::Ok(answer) => match body::write_result(answer) {
                Some((position, _)) => self.version = position,
                None => self.version += 1,
            },
            // Lost a race for a shared stream: carry on from where the stream really is.
            Reply::Status(_, answer) => {
                if let Some(actual) = body::conflict_actual(answer) {
                    self.version = actual;
                }
            }
            Reply::Transport(_) => {}
        }
    }
}

/// The write workload.
pub fn workload(spec: WriteSpec) -> Workload {
    let pad: Arc<str> = Arc::from(spec.pad.as_str());
    Arc::new(move |worker| {
        let stream = match spec.streams {
            StreamMode::Own => format!("{}-w{worker}", spec.category),
            StreamMode::Shared => format!("{}-shared", spec.category),
        };
        Box::new(Writer {
            stream,
            n: 0,
            version: -1,
            expected: spec.expected_version,
            pad: pad.clone(),
        })
    })
}
