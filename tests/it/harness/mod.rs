//! The test harness: a spawned server, a raw HTTP/1.1 client and data-driven protocol checks.

mod check;
mod client;
mod server;
pub(crate) mod sse;
mod wire;

pub(crate) use check::{check, code, ok, positions, write};
pub(crate) use client::{connect, Request, Response};
pub(crate) use server::{on_postgres, run_cli, TestServer, ADMIN};
pub(crate) use wire::{assert_lower_uuid, assert_time, is_semver, parse_time, token_for};
