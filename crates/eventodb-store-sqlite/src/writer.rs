//! The writer thread of one namespace: it owns the write connection, so writers never meet
//! `SQLITE_BUSY`, and it commits appends in groups.
//!
//! Group commit: the thread takes one request, then drains whatever else is already queued (up
//! to [`MAX_GROUP`] appends), runs them in one `BEGIN IMMEDIATE` transaction with each append
//! in its own savepoint (a failing append is rolled back alone), commits once, and only then
//! replies. A lone request is never delayed waiting for company. After each commit the new
//! messages are published to the [`ChangeSink`], before any writer is answered. In memory mode the thread
//! also runs the namespace's reads, since its connection is the only one.

use std::sync::{mpsc, Mutex};
use std::thread::JoinHandle;

use std::sync::Arc;

use eventodb_store::{Append, Appended, Change, ChangeSink, StoreError, StoreResult};
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::append::append;

/// Most appends committed in one transaction.
const MAX_GROUP: usize = 256;

/// A read run on the writer's connection (memory mode); it sends its own result.
pub(crate) type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

/// A request to the writer thread.
pub(crate) enum Command {
    /// Append a batch and reply once it is durable (or failed).
    Append {
        /// The batch.
        append: Append,
        /// Where the outcome goes.
        reply: oneshot::Sender<StoreResult<Appended>>,
    },
    /// Run a read on the writer's connection.
    Read(ReadJob),
    /// Run a write of its own (an import batch, a clear) on the writer's connection; the job
    /// manages its transaction and sends its own result.
    Write(ReadJob),
    /// Finish what is queued before this and stop.
    Stop,
}

/// The handle of a running writer thread.
pub(crate) struct Writer {
    sender: mpsc::Sender<Command>,
    thread: Mutex<Option<JoinHandle<StoreResult<u64>>>>,
}

impl Writer {
    /// Starts the thread that owns `conn`; it publishes the commits of namespace
    /// `namespace` to `sink`.
    pub(crate) fn spawn(
        conn: Connection,
        namespace: String,
        sink: Arc<dyn ChangeSink>,
    ) -> StoreResult<Self> {
        let (sender, receiver) = mpsc::channel();
        let publisher = Publisher { namespace, sink };
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, receiver, publisher))
            .map_err(StoreError::backend)?;
        Ok(Self {
            sender,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Queues a command; `false` when the thread is gone.
    pub(crate) fn send(&self, command: Command) -> bool {
        self.sender.send(command).is_ok()
    }

    /// Lets the thread finish the queued commands, waits for it and returns how many messages
    /// the namespace then held. Blocking; a second call returns 0.
    pub(crate) fn stop(&self) -> StoreResult<u64> {
        let thread = match self.thread.lock() {
            Ok(mut guard) => guard.take(),
            Err(_) => return Err(backend_error("writer handle lock poisoned")),
        };
        let Some(thread) = thread else {
            return Ok(0);
        };
        // A send failure means the thread already ended; joining tells how.
        let _ = self.sender.send(Command::Stop);
        match thread.join() {
            Ok(result) => result,
            Err(_) => Err(backend_error("writer thread panicked")),
        }
    }
}

/// A backend error from a message.
pub(crate) fn backend_error(message: impl Into<String>) -> StoreError {
    StoreError::backend(std::io::Error::other(message.into()))
}

/// Where a namespace's commits are announced.
struct Publisher {
    namespace: String,
    sink: Arc<dyn ChangeSink>,
}

fn run(
    conn: Connection,
    receiver: mpsc::Receiver<Command>,
    publisher: Publisher,
) -> StoreResult<u64> {
    let mut pending: Option<Command> = None;
    loop {
        let command = match pending.take() {
            Some(c) => c,
            None => match receiver.recv() {
                Ok(c) => c,
                // Every handle is gone: nobody can be waiting.
                Err(_) => break,
            },
        };
        match command {
            Command::Read(job) | Command::Write(job) => job(&conn),
            Command::Stop => break,
            Command::Append { append, reply } => {
                let mut group = vec![(append, reply)];
                while group.len() < MAX_GROUP {
                    match receiver.try_recv() {
                        Ok(Command::Append { append, reply }) => group.push((append, reply)),
                        Ok(other) => {
                            pending = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                commit_group(&conn, group, &publisher);
            }
        }
    }
    let count: i64 = conn
        .query_row(
            "SELECT coalesce(sum(message_count), 0) FROM streams",
            [],
            |r| r.get(0),
        )
        .map_err(StoreError::backend)?;
    conn.close().map_err(|(_, e)| StoreError::backend(e))?;
    Ok(count.max(0) as u64)
}

type Group = Vec<(Append, oneshot::Sender<StoreResult<Appended>>)>;

/// Runs a group of appends in one transaction and replies to each after the commit.
fn commit_group(conn: &Connection, group: Group, publisher: &Publisher) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let message = format!("begin: {e}");
        for (_, reply) in group {
            let _ = reply.send(Err(backend_error(message.clone())));
        }
        return;
    }
    let mut results: Vec<StoreResult<Appended>> = Vec::with_capacity(group.len());
    let mut fatal: Option<String> = None;
    for (batch, _) in &group {
        if let Err(e) = conn.execute_batch("SAVEPOINT append") {
            fatal = Some(format!("savepoint: {e}"));
            break;
        }
        let result = append(conn, batch);
        let end = if result.is_ok() {
            "RELEASE append"
        } else {
            "ROLLBACK TO append; RELEASE append"
        };
        if let Err(e) = conn.execute_batch(end) {
            fatal = Some(format!("savepoint: {e}"));
            break;
        }
        results.push(result);
    }
    if fatal.is_none() {
        if let Err(e) = conn.execute_batch("COMMIT") {
            fatal = Some(format!("commit: {e}"));
        }
    }
    if let Some(message) = fatal {
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        tracing::error!(error = %message, "sqlite write transaction failed");
        for (_, reply) in group {
            let _ = reply.send(Err(backend_error(message.clone())));
        }
        return;
    }
    let changes: Vec<Change> = group
        .iter()
        .zip(&results)
        .filter_map(|((batch, _), result)| match result {
            Ok(appended) if !appended.replayed => Some((batch, appended)),
            _ => None,
        })
        .flat_map(|(batch, appended)| {
            appended.written.iter().map(|w| Change {
                stream_name: batch.stream_name.clone(),
                position: w.position,
                global_position: w.global_position,
            })
        })
        .collect();
    if !changes.is_empty() {
        publisher.sink.publish(&publisher.namespace, &changes);
    }
    for ((_, reply), result) in group.into_iter().zip(results) {
        let _ = reply.send(result);
    }
}
