//! The conformance suite every eventodb storage backend must pass.
//!
//! Each check is a public `async fn` over any [`eventodb_store::Store`], grouped by capability
//! in modules; each creates its own namespaces with unique ids, so checks can share a store.
//! A backend runs the whole suite with one line:
//!
//! ```ignore
//! eventodb_store_tests::conformance_tests!(MyStore::open(config).unwrap());
//! // or, when something (a temporary directory) must outlive the store:
//! eventodb_store_tests::conformance_tests!(fixture = make_store_and_guard());
//! ```
//!
//! The macro expands to one `#[tokio::test]` (multi-thread, 2 workers) per check; the caller
//! needs `tokio` with the `macros` and `rt-multi-thread` features.

// A test suite panics to report failures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod concurrency;
pub mod consumer_group;
pub mod correlation;
pub mod idempotency;
pub mod import;
pub mod namespaces;
pub mod pages;
pub mod read_category;
pub mod read_stream;
pub mod support;
pub mod write;

/// Expands to one `#[tokio::test]` per conformance check, in modules named after the files.
///
/// `conformance_tests!(expr)` — `expr` makes a fresh store for each test.
/// `conformance_tests!(fixture = expr)` — `expr` makes `(store, guard)`; the guard is dropped
/// after the store is closed.
#[macro_export]
macro_rules! conformance_tests {
    (fixture = $make:expr) => {
        $crate::__conformance_checks!(@run { let (store, guard) = $make; (store, guard) });
    };
    ($make:expr) => {
        $crate::__conformance_checks!(@run { ($make, ()) });
    };
}

/// The list of checks; used by [`conformance_tests!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_checks {
    (@run $make:block) => {
        $crate::__conformance_checks!(@expand $make;
            write {
                positions_are_contiguous,
                global_positions_increase,
                expected_version_conflicts,
                payloads_round_trip,
                odd_stream_names_are_streams,
            }
            read_stream {
                read_from_position,
                read_limits,
                read_from_global_position,
                last_message,
                stream_version,
                head_position,
            }
            read_category {
                category_membership,
                dashed_category_matches_nothing,
                empty_category_reads_everything,
                category_start_and_limit,
            }
            correlation {
                correlation_filter,
            }
            pages {
                pages_match_the_messages,
            }
            consumer_group {
                members_partition_the_category,
                members_match_message_db,
                group_limit_after_filtering,
                members_read_across_long_gaps,
            }
            idempotency {
                retry_returns_original_positions,
                batch_retry_replays,
                id_reuse_with_other_content_fails,
                mixed_batch_fails_whole,
            }
            concurrency {
                one_winner_per_expected_version,
                concurrent_appends_are_contiguous,
                failures_in_a_burst_fail_alone,
                namespaces_write_concurrently,
            }
            import {
                import_keeps_positions,
                import_collisions_refuse_the_batch,
                clear_restarts_positions,
            }
            namespaces {
                registry_records,
                namespaces_are_isolated,
                delete_namespace,
                unknown_namespace,
                namespace_stats,
                list_streams,
                list_categories,
                close_refuses_later_calls,
            }
        );
    };
    (@expand $make:block; $($module:ident { $($check:ident),* $(,)? })*) => {
        $(
            mod $module {
                #[allow(unused_imports)]
                use super::*;
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $check() {
                        let (store, guard) = $make;
                        let store = ::std::sync::Arc::new(store);
                        $crate::$module::$check(&store).await;
                        $crate::__private::Store::close(&*store).await;
                        drop(guard);
                    }
                )*
            }
        )*
    };
}

#[doc(hidden)]
pub mod __private {
    pub use eventodb_store::Store;
}
