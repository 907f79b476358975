//! The scenario suite, written once and expanded in each facade's tests:
//! `vi_testkit::scenario_suite!(vi_async, async);` and
//! `vi_testkit::scenario_suite!(vi_blocking, blocking);`.
//!
//! Inside a scenario, `w!(expr)` waits for a facade call (`.await` in async mode, nothing in
//! blocking mode) and `core!(future)` waits for a `vi_core` future. Every scenario runs over
//! real HTTP against its own emulator. Identical results from both facades are the parity
//! guarantee.

/// Defines the waiting macros for one mode. Internal.
#[doc(hidden)]
#[macro_export]
macro_rules! __suite_mode {
    (async) => {
        #[allow(unused_macros)]
        macro_rules! w {
            ($e:expr) => {
                $e.await
            };
        }
        #[allow(unused_macros)]
        macro_rules! core {
            ($e:expr) => {
                $e.await
            };
        }
        #[allow(unused_macros)]
        macro_rules! run {
            ($body:block) => {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("a tokio runtime")
                    .block_on(async { $body })
            };
        }
    };
    (blocking) => {
        #[allow(unused_macros)]
        macro_rules! w {
            ($e:expr) => {
                $e
            };
        }
        #[allow(unused_macros)]
        macro_rules! core {
            ($e:expr) => {
                vi_blocking::runtime::block_on($e)
            };
        }
        #[allow(unused_macros)]
        macro_rules! run {
            ($body:block) => {
                $body
            };
        }
    };
}

/// The scenario suite. `$facade` is the facade crate (`vi_async` or `vi_blocking`), `$mode`
/// is `async` or `blocking`.
#[macro_export]
macro_rules! scenario_suite {
    ($facade:ident, $mode:ident) => {
        $crate::__suite_mode!($mode);

        #[allow(unused_imports)]
        use vi_core::{
            AssetId, AssetSortBy, CountAssetsOptions, DatasetId, ErrorKind, ListAssetsOptions,
            NewDataset, SortOrder,
        };
        #[allow(unused_imports)]
        use $facade::Client;

        fn client(env: &$crate::TestEnv) -> Client {
            Client::from_config(env.config()).expect("a client")
        }

        /// Creates a dataset holding `n` PNGs named img_000.png…, of distinct sizes.
        fn dataset_with_assets(
            env: &$crate::TestEnv,
            c: &Client,
            n: u32,
        ) -> (DatasetId, Vec<(String, Vec<u8>)>) {
            run!({
                let ds = w!(c.datasets().create("scenario"))
                    .expect("create")
                    .id()
                    .expect("id");
                let files: Vec<(String, Vec<u8>)> = (0..n)
                    .map(|i| {
                        (
                            format!("img_{i:03}.png"),
                            $crate::png(4 + i, 3 + (i % 4), i),
                        )
                    })
                    .collect();
                let session = core!($crate::seed_assets(c.core(), &ds, &files)).expect("seed");
                assert!(session.is_finished(), "seeding finished: {session:?}");
                let _ = env;
                (ds, files)
            })
        }

        #[test]
        fn datasets_create_list_get_delete() {
            let env = $crate::TestEnv::new();
            let c = client(&env);
            run!({
                let created = w!(c
                    .datasets()
                    .create(NewDataset::new("Drone survey").description("spring")))
                .expect("create");
                let id = created.id().expect("short id");
                assert!(!id.as_str().contains('_'));
                assert_eq!(created.name, "Drone survey");
                for i in 0..4 {
                    w!(c.datasets().create(format!("extra {i}"))).expect("create");
                }
                let got = w!(c.datasets().get(&id)).expect("get");
                assert_eq!(got.name, "Drone survey");
                assert_eq!(got.description.as_deref(), Some("spring"));
                assert_eq!(got.statistic.asset_total, 0);

                // Listing in pages of 2 crosses page boundaries and sees all five, once.
                let mut listing = c.datasets().list(2).expect("listing");
                let mut names = Vec::new();
                let mut pages = 0;
                while let Some(page) = w!(listing.next_page()) {
                    let page = page.expect("page");
                    pages += 1;
                    assert!(page.items.len() <= 2);
                    names.extend(page.items.into_iter().map(|d| d.name));
                }
                assert_eq!(pages, 3);
                names.sort();
                assert_eq!(
                    names,
                    ["Drone survey", "extra 0", "extra 1", "extra 2", "extra 3"]
                );

                // One page, then resume from its cursor.
                let first = w!(c.datasets().page(3, None)).expect("page");
                assert_eq!(first.items.len(), 3);
                let rest = w!(c.datasets().page(3, first.next.clone())).expect("page");
                assert_eq!(rest.items.len(), 2);
                assert!(rest.next.is_none());

                let op = w!(c.datasets().delete(&id)).expect("delete");
                assert!(op.dataset_id.ends_with(id.as_str()));
                let op = w!(c.datasets().deletion(&id)).expect("deletion");
                assert!(op.is_done(), "{op:?}");
                let gone = w!(c.datasets().get(&id)).unwrap_err();
                assert_eq!(gone.kind(), ErrorKind::NotFound, "{gone}");
                assert_eq!(gone.status().map(|s| s.as_u16()), Some(404));
            });
        }

        #[test]
        fn dataset_delete_and_wait() {
            let env = $crate::TestEnv::new();
            let c = client(&env);
            run!({
                let id = w!(c.datasets().create("short lived"))
                    .unwrap()
                    .id()
                    .unwrap();
                let op = w!(c
                    .datasets()
                    .delete_and_wait(&id, std::time::Duration::from_secs(5)))
                .unwrap();
                assert!(op.is_done());
            });
        }

        #[test]
        fn bad_dataset_input_is_refused_before_sending() {
            let env = $crate::TestEnv::new();
            let c = client(&env);
            run!({
                let err = w!(c.datasets().create("  ")).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
                assert!(err.to_string().contains("dataset name"), "{err}");
                let err = c.datasets().list(0).unwrap_err();
                assert!(err.to_string().contains("page size"), "{err}");
                let err = w!(c.datasets().page(1001, None)).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
            });
        }

        #[test]
        fn asset_listing_across_page_sizes() {
            let env = $crate::TestEnv::new();
            let c = client(&env);
            let (ds, files) = dataset_with_assets(&env, &c, 7);
            run!({
                for size in [1u32, 2, 3, 6, 7, 10, 1000] {
                    let mut listing = c
                        .assets()
                        .list(&ds, ListAssetsOptions::new().page_size(size))
                        .unwrap();
                    let mut names = Vec::new();
                    let mut pages = 0;
                    while let Some(page) = w!(listing.next_page()) {
                        let page = page.unwrap();
                        pages += 1;
                        assert!(page.items.len() <= size as usize);
                        names.extend(page.items.into_iter().map(|a| a.filename));
                    }
                    names.sort();
                    let expected: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
                    assert_eq!(names, expected, "page size {size}");
                    assert_eq!(
                        pages,
                        7usize.div_ceil(size as usize).max(1),
                        "page size {size}"
                    );
                }

                // Sorted by file size, descending.
                let page = w!(c.assets().page(
                    &ds,
                    ListAssetsOptions::new()
                        .page_size(100)
                        .sort(AssetSortBy::FileSize, SortOrder::Descending),
                    None
                ))
                .unwrap();
                let sizes: Vec<u64> = page.items.iter().map(|a| a.metadata.file_size).collect();
                let mut sorted = sizes.clone();
                sorted.sort_by(|a, b| b.cmp(a));
                assert_eq!(sizes, sorted);

                // Metadata is real: sizes, dimensions and MIME match the uploaded files.
                for asset in &page.items {
                    let (_, bytes) = files.iter().find(|(n, _)| *n == asset.filename).unwrap();
                    assert_eq!(asset.metadata.file_size, bytes.len() as u64);
                    assert_eq!(asset.metadata.mime_type, "image/png");
                    let i: u32 = asset.filename[4..7].parse().unwrap();
                    assert_eq!(asset.metadata.width, u64::from(4 + i));
                    assert_eq!(asset.metadata.height, u64::from(3 + (i % 4)));
                    assert_eq!(asset.dataset().unwrap(), ds);
                }
            });
        }

        #[test]
        fn count_and_filter() {
            let env = $crate::TestEnv::new();
            let c = client(&env);
            let (ds, _files) = dataset_with_assets(&env, &c, 6);
            run!({
                assert_eq!(
                    w!(c.assets().count(&ds, CountAssetsOptions::new())).unwrap(),
                    6
                );
                // Widths are 4..=9: three of them are at least 7.
                let wide = CountAssetsOptions::new().filter("metadata.width >= 7");
                assert_eq!(w!(c.assets().count(&ds, wide)).unwrap(), 3);
                let page = w!(c.assets().page(
                    &ds,
                    ListAssetsOptions::new().filter("metadata.width >= 7"),
                    None
                ))
                .unwrap();
                assert_eq!(page.items.len(), 3);
                assert!(page.items.iter().all(|a| a.metadata.width >= 7));
            });
        }

        #[test]
        fn get_with_contents_and_fetch_the_signed_url() {
            let env = $crate::TestEnv::new();
            let c = client(&env);
            let (ds, files) = dataset_with_assets(&env, &c, 2);
            run!({
                let page = w!(c.assets().page(&ds, ListAssetsOptions::new(), None)).unwrap();
                let listed = page
                    .items
                    .iter()
                    .find(|a| a.filename == "img_001.png")
                    .unwrap();
                let id = listed.id().unwrap();

                let plain = w!(c.assets().get(&ds, &id)).unwrap();
                assert!(
                    plain
                        .contents
                        .as_ref()
                        .and_then(|c| c.asset.as_ref())
                        .is_none()
                );

                let asset = w!(c.assets().get_with_contents(&ds, &id)).unwrap();
                let url = asset
                    .contents
                    .as_ref()
                    .and_then(|c| c.asset.clone())
                    .expect("a signed URL");
                let now = std::time::SystemTime::now();
                assert!(url.expires_at() > now, "expiry in the future");
                assert!(url.expires_at() < now + std::time::Duration::from_secs(7 * 24 * 3600));
                // The signature never shows in Debug output.
                let shown = format!("{asset:?}");
                assert!(
                    !shown.contains(url.url.split('?').nth(1).unwrap()),
                    "{shown}"
                );

                let dest = env.path("fetched/img_001.png");
                let written = w!(c.assets().download_url(&url, &dest)).unwrap();
                assert_eq!(written, files[1].1.len() as u64);
                assert_eq!(std::fs::read(&dest).unwrap(), files[1].1);

                // Listing with contents gives URLs too.
                let page =
                    w!(c.assets()
                        .page(&ds, ListAssetsOptions::new().with_contents(true), None))
                    .unwrap();
                assert!(
                    page.items.iter().all(|a| a
                        .contents
                        .as_ref()
                        .and_then(|c| c.asset.as_ref())
                        .is_some())
                );
            });
        }

        #[test]
        fn tampered_and_expired_download_urls_are_refused() {
            let env = $crate::TestEnv::new();
            let c = client(&env);
            let (ds, _files) = dataset_with_assets(&env, &c, 1);
            run!({
                let page =
                    w!(c.assets()
                        .page(&ds, ListAssetsOptions::new().with_contents(true), None))
                    .unwrap();
                let url = page.items[0]
                    .contents
                    .as_ref()
                    .unwrap()
                    .asset
                    .clone()
                    .unwrap();

                let mut tampered = url.clone();
                tampered.url = tampered.url.replacen("img_000", "img_001", 1);
                let dest = env.path("tampered.png");
                let err = w!(c.assets().download_url(&tampered, &dest)).unwrap_err();
                assert_eq!(err.status().map(|s| s.as_u16()), Some(403), "{err}");
                assert!(!dest.exists(), "no file under the final name");
                assert!(
                    !err.to_string().contains("signature="),
                    "no signed query in errors: {err}"
                );

                env.emulator
                    .advance_clock(std::time::Duration::from_secs(2 * 24 * 3600));
                let dest = env.path("expired.png");
                let err = w!(c.assets().download_url(&url, &dest)).unwrap_err();
                assert_eq!(err.status().map(|s| s.as_u16()), Some(403), "{err}");
                assert!(!dest.exists());
            });
        }

        #[test]
        fn delete_and_rename_assets() {
            let env = $crate::TestEnv::new();
            let c = client(&env);
            let (ds, _files) = dataset_with_assets(&env, &c, 3);
            run!({
                let page = w!(c.assets().page(
                    &ds,
                    ListAssetsOptions::new().sort(AssetSortBy::Filename, SortOrder::Ascending),
                    None
                ))
                .unwrap();
                let ids: Vec<AssetId> = page.items.iter().map(|a| a.id().unwrap()).collect();

                w!(c.assets().delete(&ds, &ids[0])).unwrap();
                assert_eq!(
                    w!(c.assets().count(&ds, CountAssetsOptions::new())).unwrap(),
                    2
                );
                let err = w!(c.assets().get(&ds, &ids[0])).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::NotFound);
                let err = w!(c.assets().delete(&ds, &ids[0])).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::NotFound);

                let renamed = w!(c.assets().rename(&ds, &ids[1], "renamed one.png")).unwrap();
                assert_eq!(renamed.filename, "renamed one.png");
                assert_eq!(
                    w!(c.assets().get(&ds, &ids[1])).unwrap().filename,
                    "renamed one.png"
                );

                // Spaces, `#`, `?`, `%` and non-ASCII in the addressed name travel as one
                // percent-encoded path segment.
                let odd = "ünï #1?%.png";
                let renamed =
                    w!(c.assets().rename_by_filename(&ds, "renamed one.png", odd)).unwrap();
                assert_eq!(renamed.filename, odd);
                let renamed = w!(c.assets().rename_by_filename(&ds, odd, "back.png")).unwrap();
                assert_eq!(renamed.filename, "back.png");

                let err = w!(c.assets().rename(&ds, &ids[2], "back.png")).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
                let err = w!(c.assets().rename(&ds, &ids[2], "")).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
            });
        }

        #[test]
        fn wrong_credentials_are_an_authentication_error() {
            let env = $crate::TestEnv::new();
            let c = Client::from_config(env.config_with_wrong_key()).unwrap();
            run!({
                let err = w!(c.datasets().page(10, None)).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::Authentication, "{err}");
                assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
                let text = format!("{err} {err:?}");
                assert!(!text.contains("xxxxxxxxxx"), "the key never shows: {text}");
                assert!(!text.contains(env.emulator.secret_key()));
            });
        }

        #[test]
        fn unknown_dataset_and_asset_are_not_found() {
            let env = $crate::TestEnv::new();
            let c = client(&env);
            run!({
                let missing = DatasetId::new("doesnotexist").unwrap();
                let err = w!(c.datasets().get(&missing)).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
                assert!(err.to_string().contains("get dataset"), "{err}");
                let err =
                    w!(c.assets().page(&missing, ListAssetsOptions::new(), None)).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
                let err = w!(c.assets().count(&missing, CountAssetsOptions::new())).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
                let ds = w!(c.datasets().create("empty")).unwrap().id().unwrap();
                let err = w!(c.assets().get(&ds, &AssetId::new("nope").unwrap())).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
                // An empty dataset lists as one empty, final page.
                let mut listing = c.assets().list(&ds, ListAssetsOptions::new()).unwrap();
                let page = w!(listing.next_page()).unwrap().unwrap();
                assert!(page.items.is_empty() && page.next.is_none());
                assert!(w!(listing.next_page()).is_none());
            });
        }

        #[test]
        fn transient_server_errors_are_retried() {
            let env = $crate::TestEnv::new();
            let c = client(&env);
            run!({
                env.emulator.inject($crate::Fault {
                    target: $crate::FaultTarget::Api,
                    kind: $crate::FaultKind::Status {
                        status: 503,
                        retry_after: None,
                    },
                    times: 2,
                });
                // A GET is retried through two 503s.
                let page = w!(c.datasets().page(10, None)).unwrap();
                assert!(page.items.is_empty());
                // A POST is not retried on 5xx: the error surfaces as is.
                env.emulator.inject($crate::Fault {
                    target: $crate::FaultTarget::Api,
                    kind: $crate::FaultKind::Status {
                        status: 503,
                        retry_after: None,
                    },
                    times: 1,
                });
                let err = w!(c.datasets().create("once")).unwrap_err();
                assert_eq!(err.status().map(|s| s.as_u16()), Some(503), "{err}");
                let page = w!(c.datasets().page(10, None)).unwrap();
                assert!(page.items.is_empty(), "no dataset was created");
                // 429 with Retry-After is retried, also for a POST.
                env.emulator.inject($crate::Fault {
                    target: $crate::FaultTarget::Api,
                    kind: $crate::FaultKind::Status {
                        status: 429,
                        retry_after: Some(0),
                    },
                    times: 2,
                });
                w!(c.datasets().create("after rate limit")).unwrap();
            });
        }
    };
}
