//! The one place where errors become wire responses: protocol code, HTTP status, message,
//! details, and the level they are logged at.

use eventodb_protocol::ErrorCode;
use eventodb_store::StoreError;
use serde_json::{json, Value};

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    /// The protocol error code.
    pub code: ErrorCode,
    /// HTTP status (normally the code's own; transport errors may differ).
    pub status: u16,
    /// Human-readable message.
    pub message: String,
    /// Optional structured details.
    pub details: Option<Value>,
}

impl ApiError {
    /// An error with the code's own status.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            status: code.http_status(),
            message: message.into(),
            details: None,
        }
    }

    /// `400 INVALID_REQUEST`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    /// Attaches details.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// Overrides the HTTP status (405 for a non-POST `/rpc`, 413 for an oversize body).
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// The JSON body: `{"error":{"code","message","details"?}}`.
    pub fn body(&self) -> String {
        let mut error = json!({ "code": self.code.as_str(), "message": self.message });
        if let (Some(details), Some(obj)) = (&self.details, error.as_object_mut()) {
            obj.insert("details".into(), details.clone());
        }
        json!({ "error": error }).to_string()
    }

    /// Logs the error at the level its kind deserves: server faults at error, client
    /// mistakes at debug.
    pub fn log(&self) {
        if self.status == 503 {
            // Not ready or over capacity: worth seeing, not a fault.
            tracing::warn!(code = self.code.as_str(), reason = %self.message, "request refused");
        } else if self.status >= 500 {
            tracing::error!(code = self.code.as_str(), reason = %self.message, "request failed");
        } else {
            tracing::debug!(code = self.code.as_str(), reason = %self.message, "request refused");
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NamespaceNotFound(ns) => ApiError::new(
                ErrorCode::NamespaceNotFound,
                format!("Namespace not found: {ns}"),
            )
            .with_details(json!({ "namespace": ns })),
            StoreError::NamespaceExists(ns) => ApiError::new(
                ErrorCode::NamespaceExists,
                format!("Namespace already exists: {ns}"),
            )
            .with_details(json!({ "namespace": ns })),
            StoreError::VersionConflict { expected, actual } => ApiError::new(
                ErrorCode::StreamVersionConflict,
                format!("Expected version {expected}, stream is at version {actual}"),
            )
            .with_details(json!({ "expected": expected, "actual": actual })),
            StoreError::DuplicateMessageId(id) => ApiError::new(
                ErrorCode::DuplicateMessageId,
                format!("Message id {id} already exists with different content"),
            )
            .with_details(json!({ "id": id })),
            StoreError::Invalid(message) => ApiError::invalid(message),
            err @ (StoreError::PositionExists { .. } | StoreError::ImportConflict { .. }) => {
                ApiError::new(ErrorCode::BackendError, err.to_string())
            }
            StoreError::Closed => ApiError::new(ErrorCode::BackendError, "Server is shutting down"),
            StoreError::Backend(source) => ApiError::new(
                ErrorCode::BackendError,
                format!("Storage failure: {source}"),
            ),
        }
    }
}
