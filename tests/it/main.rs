//! Black-box tests of the eventodb binary: each test starts its own server process and speaks
//! the wire protocol (docs/PROTOCOL.md) to it over a raw HTTP/1.1 client.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed expectation is a test failure, and helpers outside #[test] fns count too"
)]

mod harness;

mod auth;
mod category;
mod cli;
mod concurrency;
mod consumer_groups;
mod crash;
mod durability;
mod envelope_errors;
mod hostile;
mod http;
mod import_export;
mod limits;
mod metrics;
mod namespaces;
mod postgres;
mod read_stream;
mod rotate_token;
mod subscribe;
mod write;
