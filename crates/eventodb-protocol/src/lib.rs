//! The EventoDB wire protocol as pure rules and types: stream names, consumer-group hashing,
//! namespace tokens, message encoding, the time format and the error-code table.
//!
//! This crate does no I/O and knows nothing of HTTP, tokio or any database; everything in it
//! is tested with plain `#[test]`s. See `../shared/docs/PROTOCOL.md` for the contract.

pub mod consumer_group;
pub mod error_code;
pub mod json;
pub mod limits;
pub mod message;
pub mod stream_name;
pub mod time;
pub mod token;

pub use consumer_group::{hash_64, ConsumerGroup};
pub use error_code::ErrorCode;
pub use message::{Message, NewMessage};
