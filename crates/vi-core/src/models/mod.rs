//! Wire models: the JSON documents the Vi API sends and receives.
//!
//! One file per resource (datasets, assets, ingestion sessions, multipart uploads, …).
//! The types are plain data with serde derives and a few small accessors; they perform
//! no I/O. JSON keys are lowerCamelCase exactly as on the wire (docs/protocol.md §1.7).
//!
//! # Decoding policy
//!
//! The SDK decodes *leniently*, so a server that adds a key, adds an enum value or leaves
//! out a block does not break existing programs:
//!
//! * unknown keys are ignored;
//! * unknown enum values decode to an `Unknown(String)` variant and serialize back
//!   verbatim;
//! * only identity keys are required (`datasetId`, `name`, `assetId`, `filename`,
//!   `assetIngestionSessionId`, `ingestionId`, `multipartUploadId`, signed-URL `url` and
//!   `expiry`, and the `status.conditions` of sessions); every other key falls back to
//!   its default when absent.
//!
//! Serializing writes the same camelCase keys and leaves out optional keys that are
//! `None`, except where the spec shows the official client sending an explicit `null`.
//!
//! The plain data types are generated: `wire.rs` is written by `cargo xtask codegen` from
//! the OpenAPI document `api/vi.openapi.yaml` (do not edit it; change the document and
//! run the command). The files next to it are hand-written and hold what the document
//! cannot say: accessors and helpers in `impl` blocks, the types with custom decoders
//! (`AssetCount`, `IngestionEvent`, `CustomValue`, `DatasetUser`), `Timestamp`, the
//! strict `AssetKind`, the generic page envelope and `SignedUrl`'s redacting `Debug`.

mod annotation;
mod asset;
mod common;
mod dataset;
mod error_body;
mod export;
mod ingestion;
mod multipart;
mod page;
mod records;
mod signed_url;
// Generated (see above); rustfmt leaves it as prettyplease printed it.
#[rustfmt::skip]
mod wire;

pub use annotation::{AnnotationContents, AssetWithObjects};
pub use asset::{AssetCount, CustomValue};
pub use common::{Timestamp, all_reached, failed, is_finished_reached};
pub use dataset::DatasetUser;
pub use error_body::error_message;
pub use ingestion::{AssetKind, IngestionEvent, failed_files};
pub use page::{Cursor, Page, PageEnvelope};
pub use records::{
    AnnotationRecord, BoundingBox, GroundedPhrase, Interaction, PhraseGrounding, RecordAsset,
    RecordContents, RecordError, RecordId, Vqa, parse_jsonl, to_jsonl,
};
pub use wire::{
    AddAnnotationFilesRequest, Annotation, AnnotationAggregation, AnnotationConditionsInput,
    AnnotationFailurePolicies, AnnotationFailurePolicy, AnnotationFileSpec, AnnotationFileUpload,
    AnnotationFileUploads, AnnotationImportCounts, AnnotationImportFiles, AnnotationImportSession,
    AnnotationImportSource, AnnotationImportSpec, AnnotationImportStatus,
    AnnotationImportStatusUpdate, AnnotationRole, AnnotationSpec, AnnotationThisPart,
    AnnotationWhole, BulkDeletionCriteria, BulkDeletionSession, BulkDeletionStatus,
    CreateAnnotationImportSessionRequest, CreateBulkDeletionRequest, SimpleDataset,
};
pub use wire::{
    Asset, AssetAnnotations, AssetContents, AssetGenerations, AssetHash, AssetMetadata, AssetSpec,
    AssetStatusDetail, CompletePartRequest, ConditionStatus, CreateDatasetRequest,
    CreateIngestionSessionRequest, CreateMultipartUploadRequest, Dataset, DatasetAccess,
    DatasetContent, DatasetMetadataInput, DatasetStatistic, DatasetType, DeletedDataset,
    DeletionStatus, Dimensions, ErrorBody, FailureMode, IngestionAssetUpload, IngestionErrorCode,
    IngestionRequestSpec, IngestionSession, IngestionSessionSpec, IngestionStatus, Localization,
    MultipartUpload, MultipartUploadSpec, MultipartUploadStatus, OnAssetOverwritten, PartUploadUrl,
    ProgressCount, RenameAssetRequest, ResourceCondition, ResourceMetadata, SignedUrl, TagDetail,
    UpdateDatasetRequest, UploadedAssetMetadata,
};
pub use wire::{
    CreateDatasetExportRequest, DatasetExport, DatasetExportStatus, ExportDownloadUrl,
    ExportFormat, ExportOptions, ExportSpec,
};
