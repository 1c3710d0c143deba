//! The change feed: publishes every committed message to the [`ChangeSink`], in order and
//! exactly once per store, whichever process wrote it.
//!
//! Writes call `pg_notify('eventodb_changes', <schema name>)` in their transaction (delivered
//! at commit). One dedicated connection listens; on a notification for a namespace the feed
//! reads that namespace's rows after its last published global position, behind the fence
//! (see [`crate::fence`]), in pages, and publishes them. Rows held back by the fence are
//! re-checked after a short, growing delay. In [`NotifyMode::Poll`] there is no listener:
//! every namespace is read on the interval. The listener reconnects by itself (with backoff)
//! and then catches up every namespace from its last position.
//!
//! A cursor's position belongs to one messages table (its OID is read with it): a namespace
//! deleted and created again has a new table, and the feed starts it again from 0. Rows of a
//! namespace deleted before the feed read them no longer exist and are not published; in
//! poll mode that can be what was written in the last interval before the delete.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::Pool;
use eventodb_store::{Change, ChangeSink, StoreError};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::conn::Conn;
use crate::error::{classify, failure, Kind};
use crate::fence::split;
use crate::queries::Queries;
use crate::records::{self, Records};
use crate::registry;
use crate::NotifyMode;

/// The notification channel every write notifies.
pub(crate) const CHANNEL: &str = "eventodb_changes";
/// Rows read per page.
const PAGE: i64 = 500;
/// First and longest delay before re-checking rows held back by the fence (or a failure).
const MIN_DELAY: Duration = Duration::from_millis(2);
const MAX_DELAY: Duration = Duration::from_millis(100);
/// First and longest delay between attempts to reconnect the listener.
const MIN_RECONNECT: Duration = Duration::from_millis(50);
const MAX_RECONNECT: Duration = Duration::from_secs(5);

/// A running feed; [`Feed::stop`] ends it.
pub(crate) struct Feed {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Feed {
    /// Starts the feed. In `Listen` mode the first connection must succeed.
    pub(crate) async fn start(
        pool: Pool,
        pg: tokio_postgres::Config,
        sink: Arc<dyn ChangeSink>,
        mode: NotifyMode,
        cache: bool,
        records: Arc<Records>,
    ) -> Result<Feed, StoreError> {
        let listener = match mode {
            NotifyMode::Listen => Some(
                Listener::connect(&pg, &records)
                    .await
                    .map_err(|e| failure(format!("cannot LISTEN for changes: {e}")))?,
            ),
            NotifyMode::Poll(_) => None,
        };
        if listener.is_some() {
            records.set_live(true);
        }
        let mut state = State {
            pool,
            sink,
            cache,
            cursors: HashMap::new(),
        };
        state
            .refresh(true)
            .await
            .map_err(|e| failure(format!("cannot read the change-feed positions: {e}")))?;
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run(state, listener, pg, mode, stop_rx, records));
        Ok(Feed { stop, task })
    }

    /// Stops the feed and waits for it.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// The listening connection: change notifications arrive on `rx` (schema names), registry
/// notifications are applied to `records` as they arrive; `rx` ends when the connection is
/// lost.
struct Listener {
    _client: tokio_postgres::Client,
    rx: mpsc::UnboundedReceiver<String>,
}

impl Listener {
    async fn connect(
        pg: &tokio_postgres::Config,
        records: &Arc<Records>,
    ) -> Result<Listener, tokio_postgres::Error> {
        let (client, mut connection) = pg.connect(NoTls).await?;
        let (tx, rx) = mpsc::unbounded_channel();
        let records = Arc::clone(records);
        tokio::spawn(async move {
            while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                match message {
                    Ok(AsyncMessage::Notification(n)) if n.channel() == records::CHANNEL => {
                        records.forget(n.payload());
                    }
                    Ok(AsyncMessage::Notification(n)) => {
                        if tx.send(n.payload().to_owned()).is_err() {
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "change listener connection lost");
                        break;
                    }
                }
            }
            // From here on registry changes go unheard (the run loop re-enables the cache
            // once a new listener is up).
            records.set_live(false);
        });
        client
            .batch_execute(&format!("LISTEN {CHANNEL}; LISTEN {}", records::CHANNEL))
            .await?;
        Ok(Listener {
            _client: client,
            rx,
        })
    }
}

/// Where publication of one namespace stands.
struct Cursor {
    namespace: String,
    queries: Queries,
    last: i64,
    /// OID of the messages table `last` belongs to (0: not yet known, only while `last` is
    /// 0). A namespace deleted and created again has a new table and starts again from 0.
    table: i64,
}

struct State {
    pool: Pool,
    sink: Arc<dyn ChangeSink>,
    cache: bool,
    /// By schema name.
    cursors: HashMap<String, Cursor>,
}

impl State {
    /// Adds cursors for namespaces not yet known (at the fenced maximum when `initial`, so
    /// history is not published; else at 0, as they were created after the feed started)
    /// and drops cursors of deleted namespaces.
    async fn refresh(&mut self, initial: bool) -> Result<(), StoreError> {
        let client = self.pool.get().await.map_err(crate::error::pool_error)?;
        let conn = Conn::new(&client, self.cache);
        let entries = registry::list(&**client)
            .await
            .map_err(StoreError::backend)?;
        let live: HashSet<&str> = entries.iter().map(|e| e.schema.as_str()).collect();
        self.cursors
            .retain(|schema, _| live.contains(schema.as_str()));
        for entry in &entries {
            if self.cursors.contains_key(&entry.schema) {
                continue;
            }
            let queries = Queries::new(&entry.schema);
            // The starting position belongs to one table: should the namespace be deleted
            // and created again before the first read, that read sees another table and
            // starts the new one from 0 instead of skipping its first messages.
            let (table, last) = if initial {
                match conn
                    .query_one(&queries.fenced_max, &[&queries.messages_table])
                    .await
                {
                    Ok(row) => {
                        let table: Option<i64> = row.try_get(0).map_err(StoreError::backend)?;
                        let last: i64 = row.try_get(1).map_err(StoreError::backend)?;
                        (table.unwrap_or(0), last)
                    }
                    Err(e) if matches!(classify(&e), Kind::Gone) => continue,
                    Err(e) => return Err(StoreError::backend(e)),
                }
            } else {
                (0, 0)
            };
            self.cursors.insert(
                entry.schema.clone(),
                Cursor {
                    namespace: entry.record.id.clone(),
                    queries,
                    last,
                    table,
                },
            );
        }
        Ok(())
    }

    /// Publishes what is new in `schema`; true when rows are still held back (or the read
    /// failed), so the namespace must be looked at again soon.
    async fn catch_up(&mut self, schema: &str) -> bool {
        match self.try_catch_up(schema).await {
            Ok(held_back) => held_back,
            Err(e) => {
                if matches!(classify(&e), Kind::Gone) {
                    self.cursors.remove(schema);
                    return false;
                }
                tracing::debug!(error = %e, schema, "change feed read failed; will retry");
                true
            }
        }
    }

    async fn try_catch_up(&mut self, schema: &str) -> Result<bool, tokio_postgres::Error> {
        let client = match self.pool.get().await {
            Ok(c) => c,
            Err(_) => return Ok(true),
        };
        if !self.cursors.contains_key(schema) {
            // A namespace created after the feed started: everything in it is new.
            let Some(id) = registry::id_of_schema(&**client, schema).await? else {
                return Ok(false);
            };
            self.cursors.insert(
                schema.to_owned(),
                Cursor {
                    namespace: id,
                    queries: Queries::new(schema),
                    last: 0,
                    table: 0,
                },
            );
        }
        let Some(cursor) = self.cursors.get_mut(schema) else {
            return Ok(false);
        };
        let conn = Conn::new(&client, self.cache);
        loop {
            let rows = conn
                .query(
                    &cursor.queries.feed,
                    &[&cursor.last, &PAGE, &cursor.queries.messages_table],
                )
                .await?;
            let table: Option<i64> = match rows.first() {
                Some(row) => row.try_get(0)?,
                None => None,
            };
            let table = table.unwrap_or(0);
            if cursor.table != table {
                let recreated = cursor.table != 0;
                cursor.table = table;
                if recreated {
                    cursor.last = 0;
                    continue;
                }
            }
            let mut messages = Vec::with_capacity(rows.len());
            for row in &rows {
                if row.try_get::<_, Option<i64>>(3)?.is_some() {
                    messages.push(row);
                }
            }
            let page = split(messages.iter().copied(), 4, |row| {
                let imported: bool = row.try_get(5)?;
                let change = Change {
                    stream_name: row.try_get(1)?,
                    position: row.try_get(2)?,
                    global_position: row.try_get(3)?,
                };
                Ok((imported, change))
            })?;
            if let Some((_, last)) = page.settled.last() {
                // Past imported rows too, so they are scanned once, not at every look. They are
                // settled, and no append can still be committing below them (an import waits
                // for the appends in flight; see import.rs).
                cursor.last = last.global_position;
                let changes: Vec<Change> = page
                    .settled
                    .into_iter()
                    .filter_map(|(imported, change)| (!imported).then_some(change))
                    .collect();
                if !changes.is_empty() {
                    self.sink.publish(&cursor.namespace, &changes);
                }
            }
            if page.held_back.is_some() {
                return Ok(true);
            }
            if (messages.len() as i64) < PAGE {
                return Ok(false);
            }
        }
    }
}

async fn next_notification(listener: &mut Option<Listener>) -> Option<String> {
    match listener {
        Some(l) => l.rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn next_tick(poll: &mut Option<tokio::time::Interval>) {
    match poll {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

async fn run(
    mut state: State,
    mut listener: Option<Listener>,
    pg: tokio_postgres::Config,
    mode: NotifyMode,
    mut stop: watch::Receiver<bool>,
    records: Arc<Records>,
) {
    let listen = matches!(mode, NotifyMode::Listen);
    let mut poll = match mode {
        NotifyMode::Poll(every) => {
            let mut i = tokio::time::interval(every.max(Duration::from_millis(1)));
            i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            Some(i)
        }
        NotifyMode::Listen => None,
    };
    let mut dirty: HashSet<String> = HashSet::new();
    let mut pending: HashSet<String> = HashSet::new();
    let mut delay = MIN_DELAY;
    let mut reconnect = MIN_RECONNECT;
    loop {
        if *stop.borrow() {
            records.set_live(false);
            return;
        }
        let mut work: Vec<String> = dirty.drain().collect();
        work.sort();
        for schema in work {
            if state.catch_up(&schema).await {
                pending.insert(schema);
            }
        }
        if pending.is_empty() {
            delay = MIN_DELAY;
        }
        let has_pending = !pending.is_empty();
        let disconnected = listen && listener.is_none();
        tokio::select! {
            _ = stop.changed() => {
                records.set_live(false);
                return;
            }
            note = next_notification(&mut listener), if listener.is_some() => match note {
                Some(schema) => {
                    dirty.insert(schema);
                    if let Some(l) = listener.as_mut() {
                        while let Ok(more) = l.rx.try_recv() {
                            dirty.insert(more);
                        }
                    }
                }
                None => {
                    // Registry changes are no longer heard: stop trusting cached records.
                    records.set_live(false);
                    listener = None;
                    reconnect = MIN_RECONNECT;
                }
            },
            _ = tokio::time::sleep(reconnect), if disconnected => {
                match Listener::connect(&pg, &records).await {
                    Ok(l) => {
                        records.set_live(true);
                        listener = Some(l);
                        reconnect = MIN_RECONNECT;
                        // Catch up what was written while nobody listened.
                        if state.refresh(false).await.is_err() {
                            tracing::debug!("change feed: registry not readable yet");
                        }
                        dirty.extend(state.cursors.keys().cloned());
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "change listener cannot reconnect yet");
                        reconnect = (reconnect * 2).min(MAX_RECONNECT);
                    }
                }
            },
            _ = tokio::time::sleep(delay), if has_pending => {
                dirty.extend(pending.drain());
                delay = (delay * 2).min(MAX_DELAY);
            },
            _ = next_tick(&mut poll), if poll.is_some() => {
                if state.refresh(false).await.is_ok() {
                    dirty.extend(state.cursors.keys().cloned());
                }
            },
        }
    }
}
