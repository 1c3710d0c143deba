//! Splitting a streamed request body into numbered NDJSON lines in constant memory: at most
//! one line (≤ [`MAX_IMPORT_LINE_BYTES`]) plus one received chunk is held at a time.

use bytes::{Buf, Bytes};
use eventodb_protocol::limits::MAX_IMPORT_LINE_BYTES;
use http_body_util::BodyExt;
use hyper::body::Incoming;

/// One step of the reader.
#[derive(Debug)]
pub(crate) enum Line {
    /// A line (CR and LF stripped) and its number, counting from 1.
    Text(u64, Vec<u8>),
    /// The body ended cleanly.
    End,
    /// The body could not be read, or a line is too long; `line` is where it happened.
    Failed {
        /// The line being read.
        line: u64,
        /// What went wrong.
        message: String,
    },
}

/// Reads lines from a request body.
pub(crate) struct Lines {
    body: Incoming,
    chunk: Bytes,
    current: Vec<u8>,
    number: u64,
    ended: bool,
}

impl Lines {
    /// A reader over `body`.
    pub(crate) fn new(body: Incoming) -> Self {
        Self {
            body,
            chunk: Bytes::new(),
            current: Vec::new(),
            number: 0,
            ended: false,
        }
    }

    /// The next line (blank ones included: the caller skips them but they count).
    pub(crate) async fn next(&mut self) -> Line {
        loop {
            if let Some(at) = self.chunk.iter().position(|&b| b == b'\n') {
                self.current.extend_from_slice(&self.chunk[..at]);
                self.chunk.advance(at + 1);
                return self.finish_line();
            }
            self.current.extend_from_slice(&self.chunk);
            self.chunk = Bytes::new();
            if self.current.len() > MAX_IMPORT_LINE_BYTES + 1 {
                return self.too_long();
            }
            if self.ended {
                if self.current.is_empty() {
                    return Line::End;
                }
                return self.finish_line();
            }
            match self.body.frame().await {
                None => self.ended = true,
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.chunk = data;
                    }
                }
                Some(Err(e)) => {
                    self.ended = true;
                    return Line::Failed {
                        line: self.number + 1,
                        message: format!("could not read the request body: {e}"),
                    };
                }
            }
        }
    }

    fn finish_line(&mut self) -> Line {
        if self.current.last() == Some(&b'\r') {
            self.current.pop();
        }
        if self.current.len() > MAX_IMPORT_LINE_BYTES {
            return self.too_long();
        }
        self.number += 1;
        Line::Text(self.number, std::mem::take(&mut self.current))
    }

    fn too_long(&mut self) -> Line {
        self.ended = true;
        Line::Failed {
            line: self.number + 1,
            message: format!(
                "line {} exceeds the limit of {MAX_IMPORT_LINE_BYTES} bytes",
                self.number + 1
            ),
        }
    }
}
