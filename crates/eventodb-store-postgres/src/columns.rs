//! Message columns read in PostgreSQL's binary form: a `uuid` is 16 bytes and a `timestamp`
//! is microseconds since 2000-01-01, so neither is turned into text (or `numeric`) by the
//! database for every row, and the server formats them itself without allocating.

use std::error::Error;

use eventodb_protocol::time::Micros;
use tokio_postgres::types::{FromSql, Type};
use uuid::Uuid;

type FromSqlError = Box<dyn Error + Sync + Send>;

/// A message id: a `uuid` column (every layout this server writes or adopts), or a text one
/// taken as it is.
pub(crate) enum IdColumn<'a> {
    /// From a `uuid` column.
    Uuid(Uuid),
    /// From a text column.
    Text(&'a str),
}

impl IdColumn<'_> {
    /// The id as lowercase canonical text (what PostgreSQL's `uuid::text` gives), formatted
    /// into `buf` when it came in binary.
    pub(crate) fn as_str<'b>(&'b self, buf: &'b mut [u8; 36]) -> &'b str {
        match self {
            IdColumn::Uuid(id) => id.hyphenated().encode_lower(buf),
            IdColumn::Text(text) => text,
        }
    }

    /// The id as an owned string.
    pub(crate) fn into_string(self) -> String {
        match self {
            IdColumn::Uuid(id) => id.hyphenated().to_string(),
            IdColumn::Text(text) => text.to_owned(),
        }
    }
}

impl<'a> FromSql<'a> for IdColumn<'a> {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, FromSqlError> {
        if *ty == Type::UUID {
            Ok(IdColumn::Uuid(Uuid::from_slice(raw)?))
        } else {
            <&str>::from_sql(ty, raw).map(IdColumn::Text)
        }
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::UUID || <&str as FromSql>::accepts(ty)
    }
}

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01T00:00:00Z).
const POSTGRES_EPOCH: Micros = 946_684_800_000_000;

/// A `timestamp` (UTC, as every layout stores it) or `timestamptz` column, in Unix
/// microseconds. `infinity` and `-infinity` saturate.
pub(crate) struct TimeColumn(pub(crate) Micros);

impl<'a> FromSql<'a> for TimeColumn {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, FromSqlError> {
        let bytes: [u8; 8] = raw.try_into()?;
        Ok(TimeColumn(
            i64::from_be_bytes(bytes).saturating_add(POSTGRES_EPOCH),
        ))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMP || *ty == Type::TIMESTAMPTZ
    }
}
