//! Helpers shared by this crate's integration tests.
#![allow(dead_code, unreachable_pub)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eventodb_store::{Change, ChangeSink};
use tokio_postgres::{Client, NoTls};

/// A sink remembering every published change, per namespace, in order.
#[derive(Default)]
pub struct Collect(Mutex<Vec<(String, Change)>>);

impl ChangeSink for Collect {
    fn publish(&self, namespace: &str, changes: &[Change]) {
        let mut all = self.0.lock().unwrap();
        all.extend(changes.iter().map(|c| (namespace.to_owned(), c.clone())));
    }
}

impl Collect {
    /// A new shared collector.
    pub fn shared() -> Arc<Collect> {
        Arc::new(Collect::default())
    }

    /// The global positions published for `namespace`, in publication order.
    pub fn globals(&self, namespace: &str) -> Vec<i64> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(ns, _)| ns == namespace)
            .map(|(_, c)| c.global_position)
            .collect()
    }

    /// Waits (bounded) until `namespace` has at least `n` published changes; returns them.
    pub async fn wait_for(&self, namespace: &str, n: usize) -> Vec<i64> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.globals(namespace);
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// A plain connection to `url` (its driver runs on a task).
pub async fn raw(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// The quoted schema of namespace `id`.
pub async fn schema_of(client: &Client, id: &str) -> String {
    let row = client
        .query_one(
            "SELECT schema_name FROM eventodb_store.namespaces WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    let name: String = row.get(0);
    format!("\"{}\"", name.replace('"', "\"\""))
}
