//! Multipart uploads for large files (docs/protocol.md §6.8): the upload object, the per-part signed
//! URL and the request bodies.

use super::wire::MultipartUpload;
use crate::error::Error;
use crate::ids::DatasetId;

impl MultipartUpload {
    /// The short id of the upload's dataset.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the recovered id is not a valid dataset id.
    pub fn dataset(&self) -> Result<DatasetId, Error> {
        DatasetId::from_composite(&self.dataset_id, &self.workspace_id)
    }

    /// The number of parts the server chose (at least 1 for a usable upload).
    pub fn part_count(&self) -> u64 {
        self.status.part_count
    }
}
