//! The public vocabulary of both facades, in one place: `vi_async` and `vi_blocking`
//! re-export this module, so their users name the same types the same way.

pub use crate::bandwidth::BandwidthLimit;
pub use crate::cancel::CancelToken;
pub use crate::download::{
    DownloadFailure, DownloadOptions, DownloadReport, DownloadSelection, DownloadedFile,
    FailedDownload, SkippedDownload,
};
pub use crate::endpoints::ExportSettings;
pub use crate::export::{
    DatasetDownloadOptions, DownloadedDataset, ExportEvent, ExportFolder, LabeledAsset,
    LabeledAssets, SplitFolder, SplitSummary, UnpackLimits,
};
pub use crate::ids::ExportId;
pub use crate::import::{
    DuplicateNames, ImportOptions, ImportOutcome, ImportReport, ImportState, ImportedFile,
};
pub use crate::models;
pub use crate::outcome::{Counts, FileOutcome, OutcomeSink};
pub use crate::progress::{Progress, ProgressEvent};
pub use crate::retry::RetryPolicy;
pub use crate::select::{Filter, ListSeparator, Shard, parse_file_list};
pub use crate::upload::{
    ComparedBy, FailedFile, OverwriteMode, PlannedFile, SkipReason, SkippedFile, SourceRef,
    UploadFailure, UploadFailureMode, UploadOptions, UploadReport, UploadSources, UploadedFile,
};
pub use crate::{
    AnnotationId, AnnotationImportSessionId, AssetsWithObjectsOptions, BulkDeletionId,
    DatasetUpdate, DeleteCriteria,
};
pub use crate::{
    ApiError, ApiErrorCode, AssetId, AssetSortBy, Config, CountAssetsOptions, Cursor, DatasetId,
    Error, ErrorKind, IngestionSessionId, ListAssetsOptions, Mismatch, NewDataset, OrganizationId,
    Page, Result, SortOrder,
};
