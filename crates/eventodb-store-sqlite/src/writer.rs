//! The writer thread of one namespace: it owns the write connection, so writers never meet
//! `SQLITE_BUSY`, and it commits appends in groups.
//!
//! Group commit: the thread takes one request, then drains whatever else is already queued (up
//! to [`MAX_GROUP`] appends), runs them in one `BEGIN IMMEDIATE` transaction (a refused append
//! writes nothing, so the others go on), commits once, and only then replies. A lone request
//! is never delayed waiting for company. After each commit the writers are answered, then the
//! new messages are published to the [`ChangeSink`] and the checkpointer is told. In memory
//! mode the thread also runs the namespace's reads, since its connection is the only one.

use std::sync::{mpsc, Mutex};
use std::thread::JoinHandle;

use std::sync::Arc;

use eventodb_store::{Append, Appended, Change, ChangeSink, StoreError, StoreResult};
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::append::{append, AppendError};
use crate::checkpoint::Nudge;

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
        checkpoints: Option<Nudge>,
    ) -> StoreResult<Self> {
        let (sender, receiver) = mpsc::channel();
        let publisher = Publisher {
            namespace,
            sink,
            checkpoints,
        };
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
    /// The checkpointer to nudge after each commit (file mode).
    checkpoints: Option<Nudge>,
}

impl Publisher {
    /// After a commit, with no transaction open on `conn`.
    fn committed(&self, conn: &Connection) {
        if let Some(nudge) = &self.checkpoints {
            nudge.committed(conn);
        }
    }
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
            Command::Read(job) => job(&conn),
            Command::Write(job) => {
                job(&conn);
                publisher.committed(&conn);
            }
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

/// One queued append and where its outcome goes.
type Item = (Append, oneshot::Sender<StoreResult<Appended>>);

type Group = Vec<Item>;

/// Runs a fixed statement through the statement cache (no parsing after the first time).
fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// Why a group's transaction did not commit (it has been rolled back).
enum GroupFailure {
    /// An append failed while writing (its error); the others may succeed without it.
    Broken(StoreError),
    /// The transaction itself failed (begin or commit): every append gets this error.
    Fatal(String),
}

/// Runs a group of appends in one transaction and replies to each after the commit.
///
/// Each append checks before it writes, so a refused append (conflict, duplicate) leaves
/// nothing behind and needs no savepoint. An append that fails while writing rolls the whole
/// transaction back; the group is then applied again one append per transaction, so the
/// failure stays with the append that caused it.
fn commit_group(conn: &Connection, group: Group, publisher: &Publisher) {
    let results = match run_group(conn, &group) {
        Ok(results) => results,
        Err(GroupFailure::Broken(_)) if group.len() > 1 => {
            for item in group {
                commit_group(conn, vec![item], publisher);
            }
            return;
        }
        Err(GroupFailure::Broken(error)) => {
            if let Some((_, reply)) = group.into_iter().next() {
                let _ = reply.send(Err(error));
            }
            return;
        }
        Err(GroupFailure::Fatal(message)) => {
            for (_, reply) in group {
                let _ = reply.send(Err(backend_error(message.clone())));
            }
            return;
        }
    };
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
    // Answer first: publishing wakes every matching subscriber, and with many of them the
    // writers would otherwise wait behind the whole fan-out. Subscriptions take each position
    // at most once whatever the order (PostgreSQL's feed publishes after the answer too).
    for ((_, reply), result) in group.into_iter().zip(results) {
        let _ = reply.send(result);
    }
    if !changes.is_empty() {
        publisher.sink.publish(&publisher.namespace, &changes);
    }
    // After the replies: this may run a checkpoint (when the log should rewind), and the
    // writers of this group need not wait for it.
    publisher.committed(conn);
}

/// One transaction over the group: the outcome of each append, or why nothing committed
/// (in which case the transaction has been rolled back).
fn run_group(conn: &Connection, group: &Group) -> Result<Vec<StoreResult<Appended>>, GroupFailure> {
    exec(conn, "BEGIN IMMEDIATE").map_err(|e| GroupFailure::Fatal(format!("begin: {e}")))?;
    let mut results = Vec::with_capacity(group.len());
    for (batch, _) in group {
        match append(conn, batch) {
            Ok(appended) => results.push(Ok(appended)),
            Err(AppendError::Refused(e)) => results.push(Err(e)),
            Err(AppendError::Broken(e)) => {
                tracing::debug!(error = %e, "append failed while writing; group rolled back");
                rollback(conn);
                return Err(GroupFailure::Broken(e));
            }
        }
    }
    if let Err(e) = exec(conn, "COMMIT") {
        let message = format!("commit: {e}");
        tracing::error!(error = %message, "sqlite write transaction failed");
        rollback(conn);
        return Err(GroupFailure::Fatal(message));
    }
    Ok(results)
}

/// Rolls back the open transaction, if any.
fn rollback(conn: &Connection) {
    if !conn.is_autocommit() {
        let _ = exec(conn, "ROLLBACK");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::migrate_namespace;
    use eventodb_protocol::NewMessage;
    use eventodb_store::NoSubscribers;

    fn message(id: &str, message_type: &str) -> NewMessage {
        NewMessage {
            id: id.to_owned(),
            message_type: message_type.to_owned(),
            data: "{}".to_owned(),
            metadata: None,
        }
    }

    fn item(
        stream: &str,
        messages: Vec<NewMessage>,
        expected_version: Option<i64>,
    ) -> (Item, oneshot::Receiver<StoreResult<Appended>>) {
        let (reply, receiver) = oneshot::channel();
        let append = Append {
            stream_name: stream.to_owned(),
            messages,
            expected_version,
        };
        ((append, reply), receiver)
    }

    fn ids(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT id FROM messages ORDER BY global_position")
            .unwrap();
        let rows = stmt.query_map([], |r| r.get(0)).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    }

    /// An append that fails while writing (here: its second message trips a trigger) takes
    /// nothing with it: neither its own first message nor the other appends of its group,
    /// which commit as if it had never been there; a refused append in the same group (a
    /// version conflict) fails alone.
    #[test]
    fn a_broken_append_fails_alone_and_leaves_nothing() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_namespace(&mut conn).unwrap();
        conn.execute_batch(
            "CREATE TEMP TRIGGER boom BEFORE INSERT ON messages WHEN NEW.type = 'Boom' \
             BEGIN SELECT RAISE(ABORT, 'boom'); END;",
        )
        .unwrap();
        let publisher = Publisher {
            namespace: "default".into(),
            sink: Arc::new(NoSubscribers),
            checkpoints: None,
        };
        let (a, ra) = item("a-1", vec![message("m1", "Ok")], None);
        let (b, rb) = item(
            "b-1",
            vec![message("m2", "Ok"), message("m3", "Boom")],
            None,
        );
        let (c, rc) = item("c-1", vec![message("m4", "Ok")], Some(5));
        let (d, rd) = item("a-1", vec![message("m5", "Ok")], Some(0));
        commit_group(&conn, vec![a, b, c, d], &publisher);

        let a = ra.blocking_recv().unwrap().unwrap();
        assert_eq!(a.written[0].position, 0);
        assert!(rb.blocking_recv().unwrap().is_err());
        assert!(matches!(
            rc.blocking_recv().unwrap(),
            Err(StoreError::VersionConflict {
                expected: 5,
                actual: -1
            })
        ));
        let d = rd.blocking_recv().unwrap().unwrap();
        assert_eq!(d.written[0].position, 1);
        assert_eq!(ids(&conn), ["m1", "m5"]);
        assert!(conn.is_autocommit(), "no transaction left open");
    }
}
