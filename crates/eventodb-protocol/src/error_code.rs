//! Every protocol error code with its HTTP status (PROTOCOL §2.5, §0), defined once.

use std::fmt;
use std::str::FromStr;

macro_rules! error_codes {
    ($( $(#[doc = $doc:literal])* $variant:ident = $wire:literal => $status:literal, )*) => {
        /// A protocol error code, as it appears in `{"error":{"code": ...}}`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl ErrorCode {
            /// Every code, in table order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as sent on the wire.
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $wire,)* }
            }

            /// The HTTP status this code is answered with (a transport error may override it,
            /// e.g. `405` for a non-POST `/rpc`, `413` for a body over the limit).
            pub fn http_status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status,)* }
            }
        }

        impl FromStr for ErrorCode {
            type Err = UnknownErrorCode;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok(ErrorCode::$variant),)*
                    _ => Err(UnknownErrorCode),
                }
            }
        }
    };
}

error_codes! {
    /// Malformed envelope, bad argument, or a transport-level refusal.
    InvalidRequest = "INVALID_REQUEST" => 400,
    /// Unknown RPC method.
    MethodNotFound = "METHOD_NOT_FOUND" => 404,
    /// No credentials, a non-Bearer `Authorization` header, or an empty token.
    AuthRequired = "AUTH_REQUIRED" => 401,
    /// A token that does not parse.
    AuthInvalidToken = "AUTH_INVALID_TOKEN" => 401,
    /// The token's namespace does not exist, the hash does not match, or the token lacks authority.
    AuthUnauthorized = "AUTH_UNAUTHORIZED" => 403,
    /// The namespace does not exist.
    NamespaceNotFound = "NAMESPACE_NOT_FOUND" => 404,
    /// `ns.create` on an existing id (or one whose storage name is taken).
    NamespaceExists = "NAMESPACE_EXISTS" => 409,
    /// `expectedVersion` did not match the stream's version.
    StreamVersionConflict = "STREAM_VERSION_CONFLICT" => 409,
    /// A message id reused with different content (PROTOCOL §0, item 9).
    DuplicateMessageId = "DUPLICATE_MESSAGE_ID" => 409,
    /// Storage failed.
    BackendError = "BACKEND_ERROR" => 500,
    /// An unexpected fault in the server.
    InternalError = "INTERNAL_ERROR" => 500,
    /// Unknown HTTP path.
    NotFound = "NOT_FOUND" => 404,
    /// `/import?force=true` could not clear the namespace.
    ClearFailed = "CLEAR_FAILED" => 500,
    /// A namespace's request rate or subscription count is over its configured limit.
    RateLimited = "RATE_LIMITED" => 429,
}

/// The text named no known error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownErrorCode;

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips() {
        for code in ErrorCode::ALL {
            assert_eq!(code.as_str().parse::<ErrorCode>(), Ok(*code));
        }
        assert_eq!("AUTH_INVALID".parse::<ErrorCode>(), Err(UnknownErrorCode));
    }

    #[test]
    fn docs_table_matches_the_enum() {
        let doc = include_str!("../../../docs/ERROR_CODES.md");
        let rows: Vec<(String, u16)> = doc
            .lines()
            .filter_map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                let code = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
                Some((code.to_owned(), cells.get(2)?.parse().ok()?))
            })
            .collect();
        let want: Vec<(String, u16)> = ErrorCode::ALL
            .iter()
            .map(|c| (c.as_str().to_owned(), c.http_status()))
            .collect();
        assert_eq!(rows, want, "docs/ERROR_CODES.md is out of date");
    }

    #[test]
    fn statuses_follow_the_table() {
        assert_eq!(ErrorCode::InvalidRequest.http_status(), 400);
        assert_eq!(ErrorCode::AuthRequired.http_status(), 401);
        assert_eq!(ErrorCode::AuthUnauthorized.http_status(), 403);
        assert_eq!(ErrorCode::StreamVersionConflict.http_status(), 409);
        assert_eq!(ErrorCode::BackendError.http_status(), 500);
    }
}
