//! The namespace registry (`eventodb_store.namespaces`) and the schema of each namespace.

use eventodb_store::{NamespaceRecord, NewNamespace, StoreError};
use tokio_postgres::{GenericClient, Row};

use crate::error::{classify, DbError, Kind};
use crate::names::{hashed_schema, quote_ident, sanitized_schema, MAX_IDENTIFIER};
use crate::schema::migrate_namespace;

const COLUMNS: &str = "id, token_hash, coalesce(description, ''), created_at, schema_name";

/// A registry row.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// What the store trait reports.
    pub(crate) record: NamespaceRecord,
    /// The namespace's schema (raw name).
    pub(crate) schema: String,
}

fn entry(row: &Row) -> Result<Entry, tokio_postgres::Error> {
    let seconds: i64 = row.try_get(3)?;
    Ok(Entry {
        record: NamespaceRecord {
            id: row.try_get(0)?,
            token_hash: row.try_get(1)?,
            description: row.try_get(2)?,
            created_at: seconds.saturating_mul(1_000_000),
        },
        schema: row.try_get(4)?,
    })
}

/// The entry of namespace `id`.
pub(crate) async fn get(
    client: &impl GenericClient,
    id: &str,
) -> Result<Option<Entry>, tokio_postgres::Error> {
    let sql = format!("SELECT {COLUMNS} FROM eventodb_store.namespaces WHERE id = $1::text");
    client
        .query_opt(&sql, &[&id])
        .await?
        .as_ref()
        .map(entry)
        .transpose()
}

/// Every entry, newest first by creation second.
pub(crate) async fn list(client: &impl GenericClient) -> Result<Vec<Entry>, tokio_postgres::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM eventodb_store.namespaces ORDER BY created_at DESC, id COLLATE \"C\""
    );
    client.query(&sql, &[]).await?.iter().map(entry).collect()
}

/// The namespace id using schema `schema`.
pub(crate) async fn id_of_schema(
    client: &impl GenericClient,
    schema: &str,
) -> Result<Option<String>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT id FROM eventodb_store.namespaces WHERE schema_name = $1::text",
            &[&schema],
        )
        .await?;
    row.map(|r| r.try_get(0)).transpose()
}

/// Replaces the token hash; false when the namespace does not exist.
pub(crate) async fn set_token_hash(
    client: &impl GenericClient,
    id: &str,
    token_hash: &str,
) -> Result<bool, tokio_postgres::Error> {
    let n = client
        .execute(
            "UPDATE eventodb_store.namespaces SET token_hash = $2::text WHERE id = $1::text",
            &[&id, &token_hash],
        )
        .await?;
    Ok(n > 0)
}

/// Creates the namespace: a collision-free schema, all migrations, the registry row.
/// Run inside a transaction.
pub(crate) async fn create(tx: &impl GenericClient, ns: &NewNamespace) -> Result<(), DbError> {
    if ns.id.is_empty() {
        return Err(StoreError::Invalid("namespace id must not be empty".into()).into());
    }
    if get(tx, &ns.id).await?.is_some() {
        return Err(StoreError::NamespaceExists(ns.id.clone()).into());
    }
    let mut schema = sanitized_schema(&ns.id);
    if schema.len() > MAX_IDENTIFIER || schema_taken(tx, &schema).await? {
        schema = hashed_schema(&ns.id);
        if schema_taken(tx, &schema).await? {
            return Err(StoreError::NamespaceExists(ns.id.clone()).into());
        }
    }
    let inserted = tx
        .execute(
            "INSERT INTO eventodb_store.namespaces \
             (id, token_hash, schema_name, description, created_at, metadata) \
             VALUES ($1::text, $2::text, $3::text, $4::text, $5::int8, '{}')",
            &[
                &ns.id,
                &ns.token_hash,
                &schema,
                &ns.description,
                &ns.created_at.div_euclid(1_000_000),
            ],
        )
        .await;
    if let Err(e) = inserted {
        return Err(match classify(&e) {
            Kind::Unique(Some(c)) if c.contains("token_hash") => {
                StoreError::Invalid("token hash already in use".into()).into()
            }
            Kind::Unique(_) => StoreError::NamespaceExists(ns.id.clone()).into(),
            _ => e.into(),
        });
    }
    tx.batch_execute(&format!("CREATE SCHEMA {}", quote_ident(&schema)))
        .await?;
    migrate_namespace(tx, &schema).await?;
    Ok(())
}

/// True when a registry row or an existing schema already uses `schema`.
async fn schema_taken(
    client: &impl GenericClient,
    schema: &str,
) -> Result<bool, tokio_postgres::Error> {
    let row = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM eventodb_store.namespaces WHERE schema_name = $1::text) \
                 OR EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1::text)",
            &[&schema],
        )
        .await?;
    row.try_get(0)
}

/// Deletes the namespace: its schema and registry row; returns its message count, or `None`
/// when it does not exist. Run inside a transaction.
pub(crate) async fn delete(
    tx: &impl GenericClient,
    id: &str,
) -> Result<Option<u64>, tokio_postgres::Error> {
    let row = tx
        .query_opt(
            "SELECT schema_name FROM eventodb_store.namespaces WHERE id = $1::text FOR UPDATE",
            &[&id],
        )
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let schema: String = row.try_get(0)?;
    let quoted = quote_ident(&schema);
    let exists: bool = tx
        .query_one(
            "SELECT to_regclass($1::text) IS NOT NULL",
            &[&format!("{quoted}.streams")],
        )
        .await?
        .try_get(0)?;
    let count: i64 = if exists {
        tx.query_one(
            &format!("SELECT coalesce(sum(message_count), 0)::int8 FROM {quoted}.streams"),
            &[],
        )
        .await?
        .try_get(0)?
    } else {
        0
    };
    tx.batch_execute(&format!("DROP SCHEMA IF EXISTS {quoted} CASCADE"))
        .await?;
    tx.execute(
        "DELETE FROM eventodb_store.namespaces WHERE id = $1::text",
        &[&id],
    )
    .await?;
    Ok(Some(u64::try_from(count).unwrap_or(0)))
}
