//! The annotation, session and curation calls of both facades (`client.annotations()`,
//! the session and bulk-deletion calls of `client.assets()`, `datasets().update`), waited
//! for, as one trait both facade types implement. Listings come back collected.

use std::path::PathBuf;
use std::time::Duration;

use vi_core::api::{ImportOptions, ImportReport, UploadReport};
use vi_core::models::{
    Annotation, AnnotationImportSession, AssetWithObjects, BulkDeletionSession, Dataset,
    IngestionSession, SimpleDataset,
};
use vi_core::{
    AnnotationId, AnnotationImportSessionId, AssetId, BulkDeletionId, DatasetId, DatasetUpdate,
    DeleteCriteria, IngestionSessionId, Result,
};

use super::{AsyncFacade, BlockingFacade, Facade};

/// Declares the trait and implements it for both facades: the async one waits for the
/// handle's future, the blocking one calls its mirror.
macro_rules! label_ops {
    ($(
        $(#[$doc:meta])*
        fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $out:ty = $handle:ident.$method:ident;
    )+) => {
        /// The annotation, session and curation calls.
        pub trait LabelOps: Facade {
            $(
                $(#[$doc])*
                ///
                /// # Errors
                /// As the facade's method.
                fn $name(&self $(, $arg: $ty)*) -> Result<$out>;
            )+
        }

        impl LabelOps for AsyncFacade {
            $(
                fn $name(&self $(, $arg: $ty)*) -> Result<$out> {
                    self.wait(self.client().$handle().$method($($arg),*))
                }
            )+
        }

        impl LabelOps for BlockingFacade {
            $(
                fn $name(&self $(, $arg: $ty)*) -> Result<$out> {
                    self.client().$handle().$method($($arg),*)
                }
            )+
        }
    };
}

label_ops! {
    /// `annotations().upload(dataset, paths, options)`.
    fn import_annotations(&self, dataset: &DatasetId, paths: Vec<PathBuf>, options: ImportOptions) -> ImportReport = annotations.upload;
    /// `annotations().session(dataset, session)`.
    fn import_session(&self, dataset: &DatasetId, session: &AnnotationImportSessionId) -> AnnotationImportSession = annotations.session;
    /// `annotations().wait(dataset, session, timeout)`.
    fn wait_for_import(&self, dataset: &DatasetId, session: &AnnotationImportSessionId, timeout: Duration) -> AnnotationImportSession = annotations.wait;
    /// `annotations().cancel(dataset, session)`.
    fn cancel_import(&self, dataset: &DatasetId, session: &AnnotationImportSessionId) -> AnnotationImportSession = annotations.cancel;
    /// `annotations().get(dataset, asset, annotation)`.
    fn annotation(&self, dataset: &DatasetId, asset: &AssetId, annotation: &AnnotationId) -> Annotation = annotations.get;
    /// `annotations().delete(dataset, asset, annotation)`.
    fn delete_annotation(&self, dataset: &DatasetId, asset: &AssetId, annotation: &AnnotationId) -> () = annotations.delete;
    /// `annotations().replace(dataset, annotation)`.
    fn replace_annotation(&self, dataset: &DatasetId, annotation: &Annotation) -> Annotation = annotations.replace;
    /// `annotations().update(dataset, asset, annotation, changes)`.
    fn update_annotation(&self, dataset: &DatasetId, asset: &AssetId, annotation: &AnnotationId, changes: serde_json::Value) -> Annotation = annotations.update;
    /// `assets().with_objects_one(dataset, asset)`.
    fn asset_with_objects(&self, dataset: &DatasetId, asset: &AssetId) -> AssetWithObjects = assets.with_objects_one;
    /// `assets().session(dataset, session)`.
    fn ingestion_session(&self, dataset: &DatasetId, session: &IngestionSessionId) -> IngestionSession = assets.session;
    /// `assets().cancel_session(dataset, session)`.
    fn cancel_ingestion(&self, dataset: &DatasetId, session: &IngestionSessionId) -> () = assets.cancel_session;
    /// `assets().wait_for_session(dataset, session, timeout)`.
    fn wait_for_ingestion(&self, dataset: &DatasetId, session: &IngestionSessionId, timeout: Duration) -> IngestionSession = assets.wait_for_session;
    /// `assets().finish_upload(report, timeout)`.
    fn finish_upload(&self, report: UploadReport, timeout: Duration) -> UploadReport = assets.finish_upload;
    /// `assets().delete_many(dataset, criteria)`.
    fn delete_many(&self, dataset: &DatasetId, criteria: DeleteCriteria) -> BulkDeletionSession = assets.delete_many;
    /// `assets().wait_for_deletion(dataset, session, timeout)`.
    fn wait_for_deletion(&self, dataset: &DatasetId, session: &BulkDeletionId, timeout: Duration) -> BulkDeletionSession = assets.wait_for_deletion;
    /// `datasets().update(dataset, update)`.
    fn update_dataset(&self, dataset: &DatasetId, update: DatasetUpdate) -> Dataset = datasets.update;
}

/// Collects every item of a listing call of either facade.
macro_rules! collect_listing {
    ($(
        $(#[$doc:meta])*
        fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $item:ty = $handle:ident.$method:ident;
    )+) => {
        /// The listings of the annotation, session and curation calls, collected.
        pub trait LabelListings: Facade {
            $(
                $(#[$doc])*
                ///
                /// # Errors
                /// The first error of a page.
                fn $name(&self $(, $arg: $ty)*) -> Result<Vec<$item>>;
            )+
        }

        impl LabelListings for AsyncFacade {
            $(
                fn $name(&self $(, $arg: $ty)*) -> Result<Vec<$item>> {
                    let mut listing = self.client().$handle().$method($($arg),*)?;
                    let mut items = Vec::new();
                    while let Some(page) = self.wait(listing.next_page()) {
                        items.extend(page?.items);
                    }
                    Ok(items)
                }
            )+
        }

        impl LabelListings for BlockingFacade {
            $(
                fn $name(&self $(, $arg: $ty)*) -> Result<Vec<$item>> {
                    let mut listing = self.client().$handle().$method($($arg),*)?;
                    let mut items = Vec::new();
                    while let Some(page) = listing.next_page() {
                        items.extend(page?.items);
                    }
                    Ok(items)
                }
            )+
        }
    };
}

collect_listing! {
    /// `annotations().list(dataset, asset, page_size)`, every page.
    fn annotations_of(&self, dataset: &DatasetId, asset: &AssetId, page_size: u32) -> Annotation = annotations.list;
    /// `annotations().sessions(dataset, page_size)`, every page.
    fn import_sessions(&self, dataset: &DatasetId, page_size: u32) -> AnnotationImportSession = annotations.sessions;
    /// `assets().sessions(dataset, page_size)`, every page.
    fn ingestion_sessions(&self, dataset: &DatasetId, page_size: u32) -> IngestionSession = assets.sessions;
    /// `assets().deletions(dataset, page_size)`, every page.
    fn deletions(&self, dataset: &DatasetId, page_size: u32) -> BulkDeletionSession = assets.deletions;
    /// `datasets().list_simple(page_size)`, every page.
    fn simple_datasets(&self, page_size: u32) -> SimpleDataset = datasets.list_simple;
}

/// Both label traits: what the label scenarios take (`<F: Labels>`).
pub trait Labels: LabelOps + LabelListings {}

impl<T: LabelOps + LabelListings> Labels for T {}
