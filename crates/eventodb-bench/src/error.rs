//! The one error type of the load generator: a message meant for the person running it.

use std::fmt;

/// Why a benchmark could not run (bad flags, unreachable server, failed setup).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl Error {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Error(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// Result with the load generator's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
