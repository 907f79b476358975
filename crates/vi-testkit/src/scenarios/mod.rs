//! The scenarios both facades run, as plain functions.
//!
//! A scenario is `pub fn name<F: Facade>(env: &TestEnv)` (multipart ones take a
//! [`MultipartEnv`](multipart::MultipartEnv), transport ones a
//! [`TransportStack`](crate::stack::TransportStack)). Each facade's test files stamp out one
//! `#[test]` per scenario with the macros below, which hold the lists of scenario names
//! and nothing else:
//!
//! ```ignore
//! // crates/vi-blocking/tests/uploads.rs
//! vi_testkit::upload_tests!(vi_testkit::facade::BlockingFacade);
//! ```
//!
//! Every scenario runs over real HTTP against its own emulator. Identical results from both
//! facades are the parity guarantee.

pub mod calls;
pub mod coordinator;
pub mod downloads;
pub mod exports;
pub mod hostile;
pub mod labels;
pub mod multipart;
pub mod resume;
pub mod selection;
pub mod transport;
pub mod tuning;
pub mod upload_cancel;
pub mod upload_retries;
pub mod upload_verdicts;
pub mod uploads;

/// Stamps out `#[test] fn name() { module::name::<Facade>(&env) }` for each name. Internal
/// to the `*_tests!` macros.
#[doc(hidden)]
#[macro_export]
macro_rules! __scenario_tests {
    ($facade:ty, $env:expr, $module:ident: $($name:ident),+ $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::scenarios::$module::$name::<$facade>(&$env)
            }
        )+
    };
}

/// One `#[test]` per scenario of [`calls`] for facade `$facade` (a
/// [`Facade`](crate::facade::Facade) type).
#[macro_export]
macro_rules! api_tests {
    ($facade:ty) => {
        $crate::__scenario_tests!($facade, $crate::TestEnv::new(), calls:
            datasets_create_list_get_delete,
            dataset_delete_and_wait,
            bad_dataset_input_is_refused_before_sending,
            asset_listing_across_page_sizes,
            count_and_filter,
            get_with_contents_and_fetch_the_signed_url,
            tampered_and_expired_download_urls_are_refused,
            delete_and_rename_assets,
            a_rename_reply_that_is_not_an_asset_is_accepted,
            wrong_credentials_are_an_authentication_error,
            unknown_dataset_and_asset_are_not_found,
            transient_server_errors_are_retried,
        );
    };
}

/// One `#[test]` per scenario of [`uploads`] for facade `$facade`.
#[macro_export]
macro_rules! upload_tests {
    ($facade:ty) => {
        $crate::__scenario_tests!($facade, $crate::TestEnv::new(), uploads:
            upload_one_file,
            upload_a_nested_folder_with_mixed_files,
            upload_in_memory_bytes_and_an_explicit_unsupported_file,
            same_filename_in_two_folders_is_never_mixed_up,
            more_files_than_one_batch,
            without_waiting_files_are_reported_processing_or_done,
            bad_upload_input_is_refused_before_sending,
        );
    };
}

/// One `#[test]` per scenario of [`upload_retries`] for facade `$facade`.
#[macro_export]
macro_rules! upload_retry_tests {
    ($facade:ty) => {
        $crate::__scenario_tests!($facade, $crate::TestEnv::new(), upload_retries:
            a_refused_upload_url_moves_the_file_to_a_fresh_session,
            a_retry_never_reaches_an_expired_url,
            a_session_creation_that_fails_is_asked_for_again,
            twelve_thousand_files_with_three_second_urls,
            a_put_that_fails_twice_with_503_then_succeeds,
            a_put_failing_for_good_fails_that_file_only,
        );
    };
}

/// One `#[test]` per scenario of [`upload_verdicts`] for facade `$facade`.
#[macro_export]
macro_rules! upload_verdict_tests {
    ($facade:ty) => {
        $crate::__scenario_tests!($facade, $crate::TestEnv::new(), upload_verdicts:
            files_taken_in_before_a_failed_reach_are_reported_succeeded,
            a_corrupted_body_is_rejected_by_the_service,
            files_the_service_gave_up_on_are_not_sent,
            deferred_verdicts_are_looked_for_while_sending,
        );
    };
}

/// One `#[test]` per scenario of [`upload_cancel`] for facade `$facade`.
#[macro_export]
macro_rules! upload_cancel_tests {
    ($facade:ty) => {
        $crate::__scenario_tests!($facade, $crate::TestEnv::new(), upload_cancel:
            cancelling_halfway_stops_and_cancels_the_session,
            a_token_fired_before_the_upload_sends_nothing_and_loses_nothing,
        );
    };
}

/// One `#[test]` per scenario of [`coordinator`] (lost tasks, cancel in flight, byte
/// progress, preparation ahead of transfers) for facade `$facade`.
#[macro_export]
macro_rules! coordinator_tests {
    ($facade:ty) => {
        $crate::__scenario_tests!($facade, $crate::TestEnv::new(), coordinator:
            a_lost_download_task_fails_its_asset_with_a_reason,
            a_lost_upload_task_fails_its_file_with_a_reason,
            lost_timer_tasks_lose_no_file,
            a_cancel_stops_a_large_upload_in_flight,
            a_cancel_stops_a_large_download_and_a_rerun_resumes_it,
            the_first_transfer_starts_before_the_last_file_is_prepared,
            outcomes_stream_to_a_sink_and_the_report_keeps_counts,
        );
    };
}

/// One `#[test]` per scenario of [`selection`] (shards, patterns, a bandwidth limit) for
/// facade `$facade`.
#[macro_export]
macro_rules! selection_tests {
    ($facade:ty) => {
        $crate::__scenario_tests!($facade, $crate::TestEnv::new(), selection:
            shards_and_patterns_split_uploads_and_downloads,
            a_bandwidth_limit_paces_both_directions_and_lets_a_cancel_through,
        );
    };
}

/// One `#[test]` per scenario of [`resume`] (skip-existing and dry runs) for facade
/// `$facade`.
#[macro_export]
macro_rules! resume_tests {
    ($facade:ty) => {
        $crate::__scenario_tests!(
            $facade,
            $crate::scenarios::resume::ResumeEnv::new(),
            resume:
            an_interrupted_upload_resumed_sends_only_what_is_missing,
            a_changed_file_is_sent_again,
            a_renamed_asset_is_not_matched,
            ten_thousand_assets_are_compared_page_by_page,
            a_dry_run_sends_nothing,
        );
    };
}

/// One `#[test]` per scenario of [`downloads`] for facade `$facade`.
#[macro_export]
macro_rules! download_tests {
    ($facade:ty) => {
        $crate::__scenario_tests!($facade, $crate::TestEnv::new(), downloads:
            round_trip_across_pages_then_skip_then_overwrite,
            chosen_assets_only,
            hostile_filenames_stay_inside_the_directory,
            a_part_file_left_by_a_killed_run_is_resumed,
            expired_urls_are_signed_again_and_truncated_bodies_fetched_again,
            urls_that_expire_in_the_middle_of_a_download_are_signed_again,
            cancelling_a_download_keeps_finished_files_and_reports_the_rest,
            downloading_an_unknown_dataset_is_an_error,
            the_next_listing_page_is_asked_for_while_transfers_run,
        );
    };
}

/// One `#[test]` per scenario of [`multipart`] for facade `$facade`.
#[macro_export]
macro_rules! multipart_tests {
    ($facade:ty) => {
        $crate::__scenario_tests!(
            $facade,
            $crate::scenarios::multipart::MultipartEnv::new(),
            multipart:
            a_big_file_goes_in_parts_and_a_small_one_in_one_put,
            a_part_put_failing_twice_with_503_still_succeeds,
            a_403_on_a_part_signs_its_url_again,
            a_failing_create_restarts_the_file_at_most_twice,
            a_part_failing_for_good_aborts_the_upload_and_fails_the_file,
            cancelling_mid_file_aborts_the_multipart_upload,
        );
    };
}

/// One `#[test]` per scenario of [`transport`] for the stack `$stack` (an expression
/// making a [`TransportStack`](crate::stack::TransportStack), e.g.
/// `vi_testkit::stack::TransportStack::ureq()`).
#[macro_export]
macro_rules! transport_tests {
    ($stack:expr) => {
        $crate::__transport_tests!($stack;
            get_and_post_json,
            put_file_slice_is_length_delimited_and_replayable,
            missing_file_is_body_read,
            shrunken_file_is_body_read,
            connection_refused_is_connect_without_secret,
            a_refused_connection_keeps_its_cause,
            tls_handshake_failure_is_connect,
            error_status_is_ok_with_body,
            redirects_are_not_followed,
            slow_response_times_out_without_secret,
            a_body_slower_than_the_read_timeout_still_goes_through,
            truncated_body_is_interrupted,
            download_writes_exact_bytes_and_resumes,
            resume_past_end_of_partial_file_is_body_write,
            resume_answered_with_full_body_rewrites_from_start,
            a_partial_answer_from_elsewhere_is_refused,
            truncated_download_is_interrupted_and_keeps_partial_bytes,
            error_status_download_writes_nothing,
            bodies_past_their_cap_are_cut_gzip_included,
            runtime_inside_tokio_spawns_sleeps_and_runs_blocking_work,
            runtime_outside_tokio_runs_on_named_threads,
        );
    };
}

/// Stamps out `#[test] fn name() { transport::name(&stack) }` for each name. Internal to
/// [`transport_tests!`](crate::transport_tests!).
#[doc(hidden)]
#[macro_export]
macro_rules! __transport_tests {
    ($stack:expr; $($name:ident),+ $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::scenarios::transport::$name(&$stack)
            }
        )+
    };
}

/// One `#[test]` per scenario of [`hostile`] for facade `$facade`.
#[macro_export]
macro_rules! hostile_tests {
    ($facade:ty) => {
        #[cfg(unix)]
        $crate::__scenario_tests!($facade, $crate::TestEnv::new(), hostile:
            a_link_at_a_partial_file_is_refused_and_nothing_outside_changes,
            a_fifo_at_a_partial_file_fails_that_asset_and_nothing_hangs,
            a_hard_link_at_a_partial_file_is_refused_and_the_other_file_unchanged,
            a_fifo_swapped_in_after_the_scan_fails_that_file_and_nothing_hangs,
        );
        $crate::__scenario_tests!($facade, $crate::TestEnv::new(), hostile:
            assets_named_like_partial_files_never_meet,
            a_file_appended_to_after_the_scan_fails_and_no_prefix_lands,
        );
    };
}

/// One `#[test]` per scenario of [`tuning`] for facade `$facade`, each against an emulator
/// on a slow link.
#[macro_export]
macro_rules! tuning_tests {
    ($facade:ty) => {
        $crate::__scenario_tests!($facade, $crate::scenarios::tuning::distant(), tuning:
            uploads_run_more_transfers_at_once_on_a_slow_link,
            downloads_run_more_transfers_at_once_on_a_slow_link,
            a_fixed_concurrency_is_never_exceeded,
            connections_are_kept_across_rounds_of_transfers,
        );
    };
}

/// One `#[test]` per scenario of [`labels`] (annotation import, annotation parts, sessions
/// as resources, curation) for facade `$facade`.
#[macro_export]
macro_rules! label_tests {
    ($facade:ty) => {
        $crate::__scenario_tests!($facade, $crate::TestEnv::new(), labels:
            annotations_are_imported_into_both_dataset_types,
            duplicate_names_are_refused_or_named_by_their_folders,
            uploads_started_without_waiting_are_finished_later,
            bulk_deletion_refuses_empty_criteria_and_deletes_what_matches,
            annotation_parts_and_curation_calls,
            a_reply_naming_other_files_sends_nothing_to_them,
            annotation_file_uploads_are_retried_and_failures_reported,
        );
    };
}

/// One `#[test]` per scenario of [`exports`] for facade `$facade`.
#[macro_export]
macro_rules! export_tests {
    ($facade:ty) => {
        $crate::__scenario_tests!($facade, $crate::TestEnv::new(), exports:
            a_dataset_with_labels_round_trips_for_both_dataset_types,
            a_split_export_puts_every_asset_in_training_or_validation,
            an_annotation_only_export_holds_records_and_no_images,
            a_complete_copy_is_returned_without_a_new_export,
            an_interrupted_download_resumes_where_it_stopped,
            a_cancelled_download_keeps_its_ranges_for_the_next_call,
            a_range_answered_with_other_bytes_is_refused,
            a_refused_head_falls_back_to_a_one_byte_range,
            a_refused_archive_url_is_signed_again_through_the_export,
            an_unsuitable_format_is_refused_before_any_export_unless_told,
            a_failed_export_is_an_operation_error,
            exports_are_listed_page_by_page_and_a_finished_one_is_reused,
            pixel_coordinates_are_the_fractions_times_the_image_size,
            an_entry_climbing_out_with_dot_dot_writes_nothing_outside,
            an_entry_with_an_absolute_path_writes_nothing_outside,
            a_link_entry_is_refused_and_nothing_is_linked,
            a_zip_bomb_is_refused_before_it_is_unpacked,
        );
    };
}
