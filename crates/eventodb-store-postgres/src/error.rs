//! Turning database failures into [`StoreError`]s.

use std::fmt;

use eventodb_store::StoreError;
use tokio_postgres::error::SqlState;

/// A failure with a plain message (bad configuration, unreachable server).
#[derive(Debug)]
pub(crate) struct Failure(pub(crate) String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failure {}

/// A backend error carrying `message`.
pub(crate) fn failure(message: impl Into<String>) -> StoreError {
    StoreError::Backend(Box::new(Failure(message.into())))
}

/// An error inside an operation: a database error not yet classified, or a final answer.
#[derive(Debug)]
pub(crate) enum DbError {
    /// From the database; classified by [`classify`].
    Pg(tokio_postgres::Error),
    /// Already a store error.
    Store(StoreError),
}

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> Self {
        DbError::Pg(e)
    }
}

impl From<StoreError> for DbError {
    fn from(e: StoreError) -> Self {
        DbError::Store(e)
    }
}

/// What a database error means to the store.
#[derive(Debug)]
pub(crate) enum Kind {
    /// The namespace's schema, table or function is gone (deleted by someone).
    Gone,
    /// A unique index refused a row; the constraint name, if known.
    Unique(Option<String>),
    /// `eventodb_append` found the stream at this version.
    Version(i64),
    /// `eventodb_append` found this id stored with other content.
    Duplicate(String),
    /// The input cannot be stored (NUL bytes, bad UUID text, a key too large to index).
    Invalid(String),
    /// Anything else.
    Other,
}

/// Classifies a database error.
pub(crate) fn classify(err: &tokio_postgres::Error) -> Kind {
    let Some(db) = err.as_db_error() else {
        return Kind::Other;
    };
    let code = db.code();
    if *code == SqlState::INVALID_SCHEMA_NAME
        || *code == SqlState::UNDEFINED_TABLE
        || *code == SqlState::UNDEFINED_FUNCTION
    {
        return Kind::Gone;
    }
    if *code == SqlState::UNIQUE_VIOLATION {
        return Kind::Unique(db.constraint().map(str::to_owned));
    }
    match code.code() {
        "EVVER" => {
            return db
                .message()
                .parse()
                .map(Kind::Version)
                .unwrap_or(Kind::Other)
        }
        "EVDUP" => return Kind::Duplicate(db.message().to_owned()),
        _ => {}
    }
    if *code == SqlState::CHARACTER_NOT_IN_REPERTOIRE
        || *code == SqlState::UNTRANSLATABLE_CHARACTER
        || *code == SqlState::INVALID_TEXT_REPRESENTATION
        || *code == SqlState::PROGRAM_LIMIT_EXCEEDED
        || *code == SqlState::INVALID_PARAMETER_VALUE
        || code.code() == "22P05"
    {
        return Kind::Invalid(db.message().to_owned());
    }
    Kind::Other
}

/// A pool failure as a store error.
pub(crate) fn pool_error(err: deadpool_postgres::PoolError) -> StoreError {
    match err {
        deadpool_postgres::PoolError::Closed => StoreError::Closed,
        deadpool_postgres::PoolError::Backend(e) => StoreError::backend(e),
        other => failure(format!("no database connection: {other}")),
    }
}
