//! [`Conn`]: a pooled connection that runs statements prepared once per connection (or
//! unnamed, when the statement cache is off).

use tokio_postgres::types::ToSql;
use tokio_postgres::{Row, Statement};

/// A borrowed pooled connection and the store's statement-cache setting.
pub(crate) struct Conn<'a> {
    client: &'a deadpool_postgres::Client,
    cache: bool,
}

impl<'a> Conn<'a> {
    /// Wraps `client`.
    pub(crate) fn new(client: &'a deadpool_postgres::Client, cache: bool) -> Self {
        Conn { client, cache }
    }

    async fn statement(&self, sql: &str) -> Result<Statement, tokio_postgres::Error> {
        if self.cache {
            self.client.prepare_cached(sql).await
        } else {
            self.client.prepare(sql).await
        }
    }

    /// All rows of `sql`.
    pub(crate) async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        let statement = self.statement(sql).await?;
        self.client.query(&statement, params).await
    }

    /// The single row of `sql`.
    pub(crate) async fn query_one(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, tokio_postgres::Error> {
        let statement = self.statement(sql).await?;
        self.client.query_one(&statement, params).await
    }

    /// The row of `sql`, if any.
    pub(crate) async fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, tokio_postgres::Error> {
        let statement = self.statement(sql).await?;
        self.client.query_opt(&statement, params).await
    }
}
