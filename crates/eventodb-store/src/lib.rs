//! The storage seam: the [`Store`] trait every backend implements, its query and result
//! types, and [`StoreError`].
//!
//! This crate names no database crate; backends box their own errors inside
//! [`StoreError::Backend`]. Every operation except the namespace registry is scoped to one
//! namespace, named by its id.

mod change;
mod error;
mod import;
mod query;
mod store;

pub use change::{Change, ChangeSink, NoSubscribers};
pub use error::StoreError;
pub use import::{check_batch, stream_position_taken, ImportRecord};
pub use query::*;
pub use store::Store;
