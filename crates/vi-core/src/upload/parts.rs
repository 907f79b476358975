//! How a file is cut into the parts of a multipart upload (docs/protocol.md §6.8): pure arithmetic,
//! no I/O.

use std::ops::Range;

/// Why the part count a server chose cannot be used for a file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PartPlanError {
    /// The server asked for no parts at all.
    #[error("the service asked for 0 parts; at least 1 is needed")]
    NoParts,
    /// The server asked for more parts than the file has bytes, so every part but the
    /// last would be empty.
    #[error(
        "the service asked for {parts} parts for a file of {size} bytes; every part but the last would be empty"
    )]
    MorePartsThanBytes {
        /// The part count asked for.
        parts: u64,
        /// The file size in bytes.
        size: u64,
    },
}

/// How a file of `size` bytes is cut into the `count` parts the server chose (docs/protocol.md §6.8):
/// `base = size / count`; part `n` (from 1) covers `[(n−1)·base, n·base)` and the last
/// part `[(count−1)·base, size)`, absorbing the remainder.
///
/// A plan with more parts than bytes is refused (except a single part), because all its
/// parts but the last would be empty; storage services do not take empty parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartPlan {
    size: u64,
    count: u64,
}

impl PartPlan {
    /// The plan for `size` bytes in `count` parts.
    ///
    /// # Errors
    /// [`PartPlanError::NoParts`] for `count == 0`; [`PartPlanError::MorePartsThanBytes`]
    /// when `count > 1` and `count > size`.
    pub fn new(size: u64, count: u64) -> Result<Self, PartPlanError> {
        if count == 0 {
            return Err(PartPlanError::NoParts);
        }
        if count > 1 && count > size {
            return Err(PartPlanError::MorePartsThanBytes { parts: count, size });
        }
        Ok(PartPlan { size, count })
    }

    /// The file size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The number of parts.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The length of every part but the last: `size / count`.
    pub fn base(&self) -> u64 {
        self.size / self.count
    }

    /// The byte range of part `part` (from 1), or `None` outside `1..=count`.
    pub fn range(&self, part: u64) -> Option<Range<u64>> {
        if part == 0 || part > self.count {
            return None;
        }
        let base = self.base();
        // (part − 1) · base ≤ part · base ≤ count · base ≤ size: no overflow.
        let start = (part - 1) * base;
        let end = if part == self.count {
            self.size
        } else {
            part * base
        };
        Some(start..end)
    }

    /// The ranges of all parts, in order, computed lazily.
    pub fn ranges(&self) -> PartRanges {
        PartRanges {
            plan: *self,
            next: 1,
        }
    }
}

/// The byte ranges of a [`PartPlan`], part 1 first.
#[derive(Clone, Debug)]
pub struct PartRanges {
    plan: PartPlan,
    next: u64,
}

impl Iterator for PartRanges {
    type Item = Range<u64>;

    fn next(&mut self) -> Option<Range<u64>> {
        let range = self.plan.range(self.next)?;
        self.next += 1;
        Some(range)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.plan.count + 1 - self.next;
        match usize::try_from(left) {
            Ok(n) => (n, Some(n)),
            Err(_) => (usize::MAX, None),
        }
    }
}

/// The byte ranges of the parts of a file of `size` bytes cut into `count` parts; see
/// [`PartPlan`].
///
/// # Errors
/// As [`PartPlan::new`].
pub fn part_ranges(size: u64, count: u64) -> Result<PartRanges, PartPlanError> {
    Ok(PartPlan::new(size, count)?.ranges())
}
