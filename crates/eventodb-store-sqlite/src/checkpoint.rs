//! The checkpointer of one namespace database (file mode): copies the WAL back into the
//! database file on its own thread and connection, so no write waits for it.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses the WAL size threshold:
//! that writer (and, with group commit, every writer of its group) waits for pages to be copied
//! and the database file to be synced, which is most of the write path's tail latency. The
//! writer connection therefore turns automatic checkpoints off and marks the log dirty after
//! each commit; this thread runs a `PASSIVE` checkpoint (it never blocks the writer or
//! readers) at most once per [`INTERVAL`] while there is something new, and sleeps otherwise.
//! Durability does not depend on it: a committed transaction is in the WAL, which SQLite
//! replays on open.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use eventodb_store::{StoreError, StoreResult};
use rusqlite::Connection;

use crate::config::Synchronous;

/// Least time between two checkpoints; the WAL holds at most about this much writing.
const INTERVAL: Duration = Duration::from_millis(100);

/// WAL size (in pages) above which the writer is asked to let the log rewind.
///
/// A checkpoint copies the log but does not rewind it: SQLite rewinds when a writer starts a
/// transaction while every frame is copied, which never happens while writes arrive back to
/// back and this thread copies concurrently. Past this size the writer itself runs one
/// `PASSIVE` checkpoint between two transactions (cheap: this thread has copied all but the
/// last frames), so its next transaction starts the log from the beginning.
const REWIND_PAGES: i64 = 4096;

/// What the checkpointer thread is asked.
enum Request {
    /// There are new commits in the WAL.
    Checkpoint,
    /// Finish.
    Stop,
}

/// What the writer and the checkpointer thread share.
#[derive(Default)]
struct Shared {
    /// Commits since the last checkpoint began.
    dirty: AtomicBool,
    /// The thread waits for a nudge (rather than between two checkpoints).
    idle: AtomicBool,
    /// The log is long: the writer should let it rewind.
    rewind: AtomicBool,
}

/// The handle of a running checkpointer thread.
pub(crate) struct Checkpointer {
    requests: SyncSender<Request>,
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// The writer's side: it tells the checkpointer there is something to copy, and learns when
/// the log should rewind.
#[derive(Clone)]
pub(crate) struct Nudge {
    requests: SyncSender<Request>,
    shared: Arc<Shared>,
}

impl Nudge {
    /// Called after each commit, on the writer's connection with no transaction open. Marks
    /// the log as having something to copy; wakes the thread only when it is idle, so a busy
    /// writer makes no system call here (a stopped checkpointer needs no nudge: closing the
    /// database checkpoints it). Lets the log rewind when the checkpointer found it long.
    pub(crate) fn committed(&self, conn: &Connection) {
        if self.shared.rewind.swap(false, Ordering::Relaxed) {
            checkpoint_passive(conn);
        }
        self.shared.dirty.store(true, Ordering::SeqCst);
        if self.shared.idle.swap(false, Ordering::SeqCst) {
            match self.requests.try_send(Request::Checkpoint) {
                Ok(()) | Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {}
            }
        }
    }
}

impl Checkpointer {
    /// Opens a connection to the database at `path` and starts the thread.
    pub(crate) fn spawn(path: &Path, synchronous: Synchronous) -> StoreResult<Self> {
        let conn = Connection::open(path).map_err(StoreError::backend)?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(StoreError::backend)?;
        conn.execute_batch(&format!("PRAGMA synchronous = {}", synchronous.pragma()))
            .map_err(StoreError::backend)?;
        let (requests, receiver) = mpsc::sync_channel(1);
        let shared = Arc::new(Shared {
            idle: AtomicBool::new(true),
            ..Shared::default()
        });
        let theirs = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(conn, receiver, &theirs))
            .map_err(StoreError::backend)?;
        Ok(Self {
            requests,
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// The writer's side.
    pub(crate) fn nudge(&self) -> Nudge {
        Nudge {
            requests: self.requests.clone(),
            shared: Arc::clone(&self.shared),
        }
    }

    /// Stops the thread and waits for it. Blocking; a second call does nothing.
    pub(crate) fn stop(&self) {
        let thread = match self.thread.lock() {
            Ok(mut guard) => guard.take(),
            Err(_) => None,
        };
        if let Some(thread) = thread {
            // Blocks only until the thread has taken a pending nudge.
            let _ = self.requests.send(Request::Stop);
            let _ = thread.join();
        }
    }
}

fn run(conn: Connection, requests: Receiver<Request>, shared: &Shared) {
    while let Ok(Request::Checkpoint) = requests.recv() {
        // Busy: checkpoint, rest INTERVAL (commits meanwhile only mark the log dirty), and
        // go again while there is something new.
        loop {
            shared.dirty.store(false, Ordering::SeqCst);
            if checkpoint_passive(&conn) > REWIND_PAGES {
                shared.rewind.store(true, Ordering::Relaxed);
            }
            match requests.recv_timeout(INTERVAL) {
                Ok(Request::Checkpoint) | Err(RecvTimeoutError::Timeout) => {}
                Ok(Request::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            }
            if shared.dirty.load(Ordering::SeqCst) {
                continue;
            }
            shared.idle.store(true, Ordering::SeqCst);
            // A commit between the load and the store saw the thread busy and sent nothing:
            // take the work back unless that commit's nudge is already on its way.
            if shared.dirty.load(Ordering::SeqCst) && shared.idle.swap(false, Ordering::SeqCst) {
                continue;
            }
            break;
        }
    }
}

/// Runs a `PASSIVE` checkpoint; returns the log's length in pages (0 when it failed).
fn checkpoint_passive(conn: &Connection) -> i64 {
    match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1)) {
        Ok(pages) => pages,
        Err(e) => {
            tracing::warn!(error = %e, "wal checkpoint failed");
            0
        }
    }
}
