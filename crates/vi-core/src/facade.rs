//! The facades' method lists, written once.
//!
//! `vi-async` and `vi-blocking` expose the same operations under the same names; only the
//! way the caller waits differs (`.await`, or blocking on the calling thread). Rather than
//! write every wrapper twice, each facade expands these macros: in `async` mode a method is
//! `pub async fn name(..) -> R { self.core.op(..).await }`, in `blocking` mode it is
//! `pub fn name(..) -> R { wait(self.core.op(..)) }`, where `wait` is the facade's own
//! blocking executor, found by name at the expansion site.
//!
//! Each facade's handle types (`Datasets`, `Assets`) hold a `core: vi_core::Core` field.

/// Expands a list of `fn name(&self, args) -> Ret => core_method;` entries into facade
/// methods. Internal to the SDK's facades.
#[doc(hidden)]
#[macro_export]
macro_rules! __facade_methods {
    (async; $( $(#[$meta:meta])* fn $name:ident(&self $(, $arg:ident : $ty:ty)* $(,)?) -> $ret:ty => $core:ident; )*) => {
        $(
            $(#[$meta])*
            pub async fn $name(&self $(, $arg: $ty)*) -> $ret {
                self.core.$core($($arg),*).await
            }
        )*
    };
    (blocking; $( $(#[$meta:meta])* fn $name:ident(&self $(, $arg:ident : $ty:ty)* $(,)?) -> $ret:ty => $core:ident; )*) => {
        $(
            $(#[$meta])*
            pub fn $name(&self $(, $arg: $ty)*) -> $ret {
                wait(self.core.$core($($arg),*))
            }
        )*
    };
}

/// The dataset operations of both facades (`client.datasets()`).
#[doc(hidden)]
#[macro_export]
macro_rules! __dataset_methods {
    ($mode:ident) => {
        $crate::__facade_methods! { $mode;
            /// One page of the organization's datasets, starting at `cursor` (`None` for the
            /// first page). Use the page's `next` cursor to resume a listing later.
            ///
            /// # Errors
            /// [`Error::InvalidInput`](vi_core::Error::InvalidInput) for a page size outside
            /// 1–1000; otherwise as any API call (transport, API error, decode).
            fn page(&self, page_size: u32, cursor: Option<vi_core::Cursor>) -> vi_core::Result<vi_core::Page<vi_core::models::Dataset>> => datasets_page;

            /// One dataset, with its statistics (asset total, annotations).
            ///
            /// # Errors
            /// An API error of kind `NotFound` when the dataset does not exist.
            fn get(&self, dataset: &vi_core::DatasetId) -> vi_core::Result<vi_core::models::Dataset> => get_dataset;

            /// Creates a dataset: `create("Drone survey")` or
            /// `create(NewDataset::new("Drone survey").description("spring"))`.
            ///
            /// # Errors
            /// [`Error::InvalidInput`](vi_core::Error::InvalidInput) for an empty name;
            /// otherwise as any API call. Creation is never retried after the request may
            /// have reached the service, so a dataset is never created twice.
            fn create(&self, dataset: impl Into<vi_core::NewDataset> + Send) -> vi_core::Result<vi_core::models::Dataset> => create_dataset_from;

            /// Starts deleting a dataset (deletion is asynchronous on the service) and returns
            /// the deletion operation.
            ///
            /// # Errors
            /// An API error of kind `NotFound` when the dataset does not exist.
            fn delete(&self, dataset: &vi_core::DatasetId) -> vi_core::Result<vi_core::models::DeletedDataset> => delete_dataset;

            /// The state of a dataset's deletion operation.
            ///
            /// # Errors
            /// As any API call.
            fn deletion(&self, dataset: &vi_core::DatasetId) -> vi_core::Result<vi_core::models::DeletedDataset> => dataset_deletion;

            /// Deletes a dataset and polls until the deletion is done or `timeout` passes;
            /// returns the last state seen.
            ///
            /// # Errors
            /// As [`delete`](Self::delete);
            /// [`Error::Operation`](vi_core::Error::Operation) when the deletion fails.
            fn delete_and_wait(&self, dataset: &vi_core::DatasetId, timeout: std::time::Duration) -> vi_core::Result<vi_core::models::DeletedDataset> => delete_dataset_and_wait;
        }
    };
}

/// The asset operations of both facades (`client.assets()`).
#[doc(hidden)]
#[macro_export]
macro_rules! __asset_methods {
    ($mode:ident) => {
        $crate::__facade_methods! { $mode;
            /// One page of a dataset's assets, starting at `cursor` (`None` for the first
            /// page), with the listing options (page size, filter, sort, signed URLs).
            ///
            /// # Errors
            /// [`Error::InvalidInput`](vi_core::Error::InvalidInput) for a page size outside
            /// 1–1000; an API error of kind `NotFound` for an unknown dataset.
            fn page(&self, dataset: &vi_core::DatasetId, options: vi_core::ListAssetsOptions, cursor: Option<vi_core::Cursor>) -> vi_core::Result<vi_core::Page<vi_core::models::Asset>> => assets_page;

            /// How many assets match the options (all of them with `CountAssetsOptions::new()`).
            ///
            /// # Errors
            /// An API error of kind `NotFound` for an unknown dataset.
            fn count(&self, dataset: &vi_core::DatasetId, options: vi_core::CountAssetsOptions) -> vi_core::Result<u64> => count_assets;

            /// One asset's metadata, without a download URL.
            ///
            /// # Errors
            /// An API error of kind `NotFound` when the asset or dataset does not exist.
            fn get(&self, dataset: &vi_core::DatasetId, asset: &vi_core::AssetId) -> vi_core::Result<vi_core::models::Asset> => get_asset_plain;

            /// One asset with `contents`: its signed download URL and the URL's expiry
            /// (`asset.contents.asset.expires_at()`). The URL is a credential: it is never
            /// printed by `Debug`.
            ///
            /// # Errors
            /// An API error of kind `NotFound` when the asset or dataset does not exist.
            fn get_with_contents(&self, dataset: &vi_core::DatasetId, asset: &vi_core::AssetId) -> vi_core::Result<vi_core::models::Asset> => get_asset_with_contents;

            /// Deletes an asset. A retried delete that finds the asset already gone counts as
            /// success.
            ///
            /// # Errors
            /// An API error of kind `NotFound` when the asset does not exist.
            fn delete(&self, dataset: &vi_core::DatasetId, asset: &vi_core::AssetId) -> vi_core::Result<()> => delete_asset;

            /// Renames an asset addressed by id and returns it as it now is.
            ///
            /// # Errors
            /// [`Error::InvalidInput`](vi_core::Error::InvalidInput) for an empty name; an API
            /// error of kind `Conflict` when another asset already has that name.
            fn rename(&self, dataset: &vi_core::DatasetId, asset: &vi_core::AssetId, new_filename: &str) -> vi_core::Result<vi_core::models::Asset> => rename_asset_by_id;

            /// Renames the asset whose filename is `current_filename` (any characters,
            /// `/` included, are sent as one path segment).
            ///
            /// # Errors
            /// As [`rename`](Self::rename); `NotFound` when no asset has that filename.
            fn rename_by_filename(&self, dataset: &vi_core::DatasetId, current_filename: &str, new_filename: &str) -> vi_core::Result<vi_core::models::Asset> => rename_asset_by_filename;

            /// Uploads files, folders (recursively) and in-memory bytes to a dataset through
            /// ingestion sessions, and by default waits until the service has taken them in.
            /// `sources` is a path (`"photos/"`), a `Vec<PathBuf>`, a `Vec<(name, bytes)>` or an
            /// [`UploadSources`](vi_core::upload::UploadSources) mixing them.
            ///
            /// Every input file ends up in exactly one of the report's `succeeded`, `failed`,
            /// `skipped` and `processing` lists, with a reason for the last three; call
            /// `into_result()` on the report to turn any shortfall into an error.
            ///
            /// # Errors
            /// [`Error::InvalidInput`](vi_core::Error::InvalidInput) before anything is sent
            /// (nothing to upload, a missing path, a bad option); an API error when the dataset
            /// cannot be uploaded to at all (unknown dataset, wrong credentials).
            fn upload(&self, dataset: &vi_core::DatasetId, sources: impl Into<vi_core::upload::UploadSources> + Send, options: vi_core::upload::UploadOptions) -> vi_core::Result<vi_core::upload::UploadReport> => upload;

            /// Downloads assets of a dataset into `<directory>/<dataset id>/`: all of them by
            /// default, or the chosen ids, or a listing's (see
            /// [`DownloadOptions`](vi_core::download::DownloadOptions)). Complete existing files
            /// are skipped, a `.part` left by an interrupted run is continued, every file is
            /// verified before it gets its final name.
            ///
            /// Every asset ends up in exactly one of the report's `downloaded`, `skipped` and
            /// `failed` lists.
            ///
            /// # Errors
            /// [`Error::InvalidInput`](vi_core::Error::InvalidInput) for bad options; an API
            /// error when the dataset cannot be listed at all; an I/O error when the directory
            /// cannot be created.
            fn download(&self, dataset: &vi_core::DatasetId, directory: &std::path::Path, options: vi_core::download::DownloadOptions) -> vi_core::Result<vi_core::download::DownloadReport> => download;

            /// Downloads one asset to exactly `destination` (replacing any file there),
            /// through a `.part` file, verified, with a fresh URL if the first one expires.
            ///
            /// # Errors
            /// An API error of kind `NotFound` for an unknown asset;
            /// [`Error::Operation`](vi_core::Error::Operation) when the transfer or the
            /// verification fails after retries.
            fn download_asset(&self, dataset: &vi_core::DatasetId, asset: &vi_core::AssetId, destination: &std::path::Path) -> vi_core::Result<vi_core::download::DownloadedFile> => download_asset;

            /// Downloads a signed URL (from `get_with_contents` or a listing with contents) to
            /// `destination` and returns the bytes written. The body streams to
            /// `destination.part` and is renamed into place only when complete.
            ///
            /// # Errors
            /// An API error of kind `PermissionDenied` (403) when the URL was tampered with or
            /// has expired; transport errors after retries; I/O errors naming the path.
            fn download_url(&self, url: &vi_core::models::SignedUrl, destination: &std::path::Path) -> vi_core::Result<u64> => fetch_signed_url;
        }
    };
}

/// The client types of both facades: `Client` (with its builder alias and its
/// `FromConfig`), and the `Datasets` / `Assets` handles. Each facade supplies its mechanisms
/// (`$transport`: a function from `&HttpOptions` to `Result<Arc<dyn Transport>>`, and
/// `$runtime`: its `Runtime` value) and its own `Listing` type (a `Stream` or an
/// `Iterator`) with a `fn new(pager) -> Self`. `$client_doc` documents `Client`.
#[doc(hidden)]
#[macro_export]
macro_rules! __client_types {
    ($mode:ident, $client_doc:literal, $transport:expr, $runtime:expr) => {
        impl vi_core::builder::FromConfig for Client {
            fn from_config(config: vi_core::Config) -> vi_core::Result<Self> {
                let make: fn(
                    &vi_core::transport::HttpOptions,
                )
                    -> vi_core::Result<std::sync::Arc<dyn vi_core::transport::Transport>> =
                    $transport;
                let transport = make(&vi_core::transport::HttpOptions::from(&config))?;
                Ok(Client {
                    core: vi_core::Core::new(config, transport, std::sync::Arc::new($runtime)),
                })
            }
        }

        /// Builds a [`Client`]: `Client::builder().secret_key(..).organization_id(..).build()?`.
        pub type ClientBuilder = vi_core::builder::ClientBuilder<Client>;

        #[doc = $client_doc]
        #[derive(Clone, Debug)]
        pub struct Client {
            core: vi_core::Core,
        }

        impl Client {
            /// A builder; values not set come from `DATATURE_VI_*` environment variables.
            pub fn builder() -> ClientBuilder {
                ClientBuilder::new()
            }

            /// A client configured entirely from the environment (`DATATURE_VI_SECRET_KEY`,
            /// `DATATURE_VI_ORGANIZATION_ID`, optionally `DATATURE_VI_API_ENDPOINT`).
            ///
            /// # Errors
            /// [`Error::Config`](vi_core::Error::Config) naming what is missing.
            pub fn from_env() -> vi_core::Result<Self> {
                ClientBuilder::new().build()
            }

            /// A client over a resolved configuration.
            ///
            /// # Errors
            /// When the HTTP stack cannot be set up.
            pub fn from_config(config: vi_core::Config) -> vi_core::Result<Self> {
                <Self as vi_core::builder::FromConfig>::from_config(config)
            }

            /// The configuration in use (the secret key is redacted in its `Debug`).
            pub fn config(&self) -> &vi_core::Config {
                self.core.config()
            }

            /// The shared engine, for calls this facade does not wrap (e.g. a custom
            /// endpoint).
            pub fn core(&self) -> &vi_core::Core {
                &self.core
            }

            /// Dataset operations.
            pub fn datasets(&self) -> Datasets {
                Datasets {
                    core: self.core.clone(),
                }
            }

            /// Asset operations.
            pub fn assets(&self) -> Assets {
                Assets {
                    core: self.core.clone(),
                }
            }
        }

        /// Dataset operations: `client.datasets()`.
        #[derive(Clone, Debug)]
        pub struct Datasets {
            core: vi_core::Core,
        }

        impl Datasets {
            vi_core::__dataset_methods!($mode);

            /// Every dataset of the organization, fetched lazily page by page (`page_size`
            /// per request, 1–1000).
            ///
            /// # Errors
            /// [`Error::InvalidInput`](vi_core::Error::InvalidInput) for a page size outside
            /// 1–1000.
            pub fn list(
                &self,
                page_size: u32,
            ) -> vi_core::Result<Listing<vi_core::endpoints::ListDatasets>> {
                self.core.list_datasets(page_size).map(Listing::new)
            }
        }

        /// Asset operations: `client.assets()`.
        #[derive(Clone, Debug)]
        pub struct Assets {
            core: vi_core::Core,
        }

        impl Assets {
            vi_core::__asset_methods!($mode);

            /// Every asset of a dataset matching `options`, fetched lazily page by page.
            ///
            /// # Errors
            /// [`Error::InvalidInput`](vi_core::Error::InvalidInput) for a page size outside
            /// 1–1000.
            pub fn list(
                &self,
                dataset: &vi_core::DatasetId,
                options: vi_core::ListAssetsOptions,
            ) -> vi_core::Result<Listing<vi_core::endpoints::ListAssets>> {
                self.core.list_assets(dataset, options).map(Listing::new)
            }
        }
    };
}

/// The `Listing` type of both facades: a lazy listing over the core pager, with
/// `next_page` (awaited or blocking, by `$mode`) and `cursor`. Each facade adds its own
/// adapters (`Stream`s or `Iterator`s of pages and items) in a second `impl` block.
/// `$doc` documents the type.
#[doc(hidden)]
#[macro_export]
macro_rules! __listing_type {
    ($mode:ident, $doc:literal) => {
        #[doc = $doc]
        ///
        /// A failed page can be asked for again; a repeated page token ends the listing with
        /// [`Error::Pagination`](vi_core::Error::Pagination).
        #[derive(Debug)]
        pub struct Listing<E: vi_core::paging::PagedEndpoint> {
            pager: vi_core::paging::Pager<E>,
        }

        impl<E: vi_core::paging::PagedEndpoint> Listing<E> {
            fn new(pager: vi_core::paging::Pager<E>) -> Self {
                Listing { pager }
            }

            /// Where the next page starts: save it to resume later with `page(.., cursor)`.
            pub fn cursor(&self) -> Option<&vi_core::Cursor> {
                self.pager.cursor()
            }

            $crate::__listing_next_page!($mode);
        }
    };
}

/// `Listing::next_page` in one mode. Internal.
#[doc(hidden)]
#[macro_export]
macro_rules! __listing_next_page {
    (async) => {
        /// The next page, or `None` after the last.
        ///
        /// # Errors
        /// Any error of the list call (ask again to retry the same page), or
        /// [`Error::Pagination`](vi_core::Error::Pagination).
        pub async fn next_page(&mut self) -> Option<vi_core::Result<vi_core::Page<E::Item>>> {
            self.pager.next_page().await
        }
    };
    (blocking) => {
        /// The next page, or `None` after the last.
        ///
        /// # Errors
        /// Any error of the list call (ask again to retry the same page), or
        /// [`Error::Pagination`](vi_core::Error::Pagination).
        pub fn next_page(&mut self) -> Option<vi_core::Result<vi_core::Page<E::Item>>> {
            wait(self.pager.next_page())
        }
    };
}
