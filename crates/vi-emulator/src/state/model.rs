//! The emulator's data model: datasets, assets, ingestion sessions and their files,
//! multipart uploads, and the multipart boundary rule.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Dataset {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) owner: String,
    pub(crate) description: Option<String>,
    pub(crate) dataset_type: String,
    pub(crate) content: String,
    pub(crate) localization: Option<String>,
    pub(crate) data_localization: Option<String>,
    pub(crate) status: i64,
    pub(crate) tags: BTreeMap<String, i64>,
    pub(crate) attributes: BTreeMap<String, String>,
    pub(crate) preference: Map<String, Value>,
    pub(crate) created: i64,
    pub(crate) updated: i64,
    pub(crate) generation: u64,
    /// Number of assets (kept with every insert and delete).
    #[serde(default)]
    pub(crate) asset_count: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Asset {
    pub(crate) id: String,
    pub(crate) filename: String,
    pub(crate) blob: String,
    pub(crate) size: u64,
    pub(crate) mime: String,
    pub(crate) kind: String,
    pub(crate) width: u64,
    pub(crate) height: u64,
    pub(crate) crc: u32,
    pub(crate) custom_metadata: Map<String, Value>,
    pub(crate) created: i64,
    pub(crate) updated: i64,
    pub(crate) contents_updated: i64,
    pub(crate) generation: u64,
    pub(crate) seq: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DeleteOp {
    pub(crate) dataset: String,
    pub(crate) created: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Session {
    pub(crate) id: String,
    pub(crate) ingestion_id: String,
    pub(crate) dataset: String,
    pub(crate) failure_mode: String,
    pub(crate) keep_linked: bool,
    pub(crate) spec_kind: String,
    /// Stored as rows of their own (one per file), not in the session document.
    #[serde(skip_serializing, default)]
    pub(crate) files: Vec<SessionFile>,
    pub(crate) created: i64,
    pub(crate) updated: i64,
    pub(crate) last_activity: i64,
    pub(crate) generation: u64,
    pub(crate) upload_expiry: i64,
    pub(crate) finished: Option<Finish>,
    pub(crate) errors: Vec<ErrorEvent>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Finish {
    pub(crate) reached: bool,
    pub(crate) reason: Option<String>,
    pub(crate) message: Option<String>,
    pub(crate) time: i64,
}

/// The `reason` of a session ended by U3 (docs/protocol.md §15 #27).
pub(crate) const CANCELLED: &str = "Cancelled";

impl Finish {
    /// True when the session was ended by a cancel (U3).
    pub(crate) fn cancelled(&self) -> bool {
        self.reason.as_deref() == Some(CANCELLED)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ErrorEvent {
    pub(crate) files: BTreeMap<String, String>,
    pub(crate) time: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SessionFile {
    pub(crate) filename: String,
    pub(crate) mime: String,
    pub(crate) size: u64,
    pub(crate) crc32c: Option<i32>,
    pub(crate) custom_metadata: Option<Map<String, Value>>,
    pub(crate) kind: String,
    pub(crate) state: FileState,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum FileState {
    Pending,
    Received {
        blob: String,
        width: u64,
        height: u64,
        crc: u32,
    },
    Failed {
        code: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum MultipartState {
    Open,
    Aborted,
    Completed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Multipart {
    pub(crate) id: String,
    pub(crate) session: String,
    pub(crate) dataset: String,
    pub(crate) ingestion_id: String,
    pub(crate) filename: String,
    pub(crate) content_type: Option<String>,
    pub(crate) size: u64,
    pub(crate) part_count: u32,
    pub(crate) parts: BTreeMap<u32, Part>,
    pub(crate) state: MultipartState,
    pub(crate) created: i64,
    pub(crate) updated: i64,
    pub(crate) generation: u64,
    pub(crate) force_corrupt: bool,
}

impl Multipart {
    /// Byte range `[start, end)` of part `n` (1-based) under the §6.8 boundary rule.
    pub(crate) fn part_range(&self, n: u32) -> (u64, u64) {
        part_range(self.size, self.part_count, n)
    }
}

/// `base = floor(size / N)`; part n covers `[(n-1)·base, n·base)`, the last part
/// absorbs the remainder.
pub(crate) fn part_range(size: u64, count: u32, n: u32) -> (u64, u64) {
    let count = u64::from(count.max(1));
    let n = u64::from(n.max(1));
    let base = size / count;
    let start = (n - 1) * base;
    let end = if n >= count { size } else { n * base };
    (start, end)
}

/// `ceil(size / part_size)` clamped to 1..=10 000 (docs/protocol.md §15 #15).
pub(crate) fn part_count(size: u64, part_size: u64) -> u32 {
    let part_size = part_size.max(1);
    let count = size.div_ceil(part_size).clamp(1, 10_000);
    u32::try_from(count).unwrap_or(10_000)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Part {
    pub(crate) size: u64,
    pub(crate) crc: u32,
    pub(crate) registered: bool,
}

impl Part {
    pub(crate) fn etag(&self) -> String {
        format!("\"{:08x}{:016x}\"", self.crc, self.size)
    }
}

/// What became of one uploaded file.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    Received {
        blob: String,
        width: u64,
        height: u64,
        crc: u32,
    },
    Failed(&'static str),
}

/// Blob ids whose files can be deleted once the state lock is released.
pub(crate) type Garbage = Vec<String>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries() {
        assert_eq!(part_count(0, 64), 1);
        assert_eq!(part_count(64, 64), 1);
        assert_eq!(part_count(65, 64), 2);
        assert_eq!(part_count(u64::MAX, 1), 10_000);
        assert_eq!(part_range(10, 3, 1), (0, 3));
        assert_eq!(part_range(10, 3, 2), (3, 6));
        assert_eq!(part_range(10, 3, 3), (6, 10));
        assert_eq!(part_range(5, 1, 1), (0, 5));
    }
}
