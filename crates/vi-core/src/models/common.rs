//! Shared building blocks: timestamps, resource metadata and status conditions (docs/protocol.md §3).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize};

use super::wire::{ConditionStatus, ResourceCondition};

/// An instant on the wire: whole milliseconds since the Unix epoch, UTC (docs/protocol.md §1.7).
///
/// Displays as RFC 3339 (`2024-11-29T08:01:00Z`, with `.mmm` when the milliseconds are
/// not zero).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    /// Wraps a number of milliseconds since the Unix epoch.
    pub const fn from_millis(millis: i64) -> Self {
        Timestamp(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// The instant as a [`SystemTime`] (saturating at the limits of the platform).
    pub fn to_system_time(self) -> SystemTime {
        let magnitude = Duration::from_millis(self.0.unsigned_abs());
        if self.0 >= 0 {
            UNIX_EPOCH.checked_add(magnitude)
        } else {
            UNIX_EPOCH.checked_sub(magnitude)
        }
        .unwrap_or(UNIX_EPOCH)
    }

    /// The instant `time`, truncated to whole milliseconds.
    pub fn from_system_time(time: SystemTime) -> Self {
        let millis = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |m| -m),
        };
        Timestamp(millis)
    }
}

impl From<i64> for Timestamp {
    fn from(millis: i64) -> Self {
        Timestamp(millis)
    }
}

impl From<Timestamp> for i64 {
    fn from(ts: Timestamp) -> i64 {
        ts.0
    }
}

/// Converts days since 1970-01-01 to a proleptic Gregorian (year, month, day).
/// Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Both values are in small ranges, so the casts cannot truncate.
    (year, month as u32, day as u32)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const DAY_MS: i64 = 86_400_000;
        let days = self.0.div_euclid(DAY_MS);
        let in_day = self.0.rem_euclid(DAY_MS);
        let (year, month, day) = civil_from_days(days);
        let (secs, millis) = (in_day / 1000, in_day % 1000);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )?;
        if millis != 0 {
            write!(f, ".{millis:03}")?;
        }
        f.write_str("Z")
    }
}

impl ResourceCondition {
    /// True when this condition is `Reached`.
    pub fn is_reached(&self) -> bool {
        self.status == ConditionStatus::Reached
    }

    /// True when this condition is `FailedReach`.
    pub fn is_failed(&self) -> bool {
        self.status == ConditionStatus::FailedReach
    }
}

/// True when some condition is `Finished` with status `Reached` (order is ignored).
pub fn is_finished_reached(conditions: &[ResourceCondition]) -> bool {
    conditions
        .iter()
        .any(|c| c.condition == "Finished" && c.is_reached())
}

/// The first condition whose status is `FailedReach`, whatever its name.
pub fn failed(conditions: &[ResourceCondition]) -> Option<&ResourceCondition> {
    conditions.iter().find(|c| c.is_failed())
}

/// True when there is at least one condition and every one is `Reached`.
pub fn all_reached(conditions: &[ResourceCondition]) -> bool {
    !conditions.is_empty() && conditions.iter().all(ResourceCondition::is_reached)
}

/// Deserializes `null` as the type's default (for keys that are lists or maps).
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Deserializes an optional CRC-32C, accepting the signed form the spec uses and, for
/// robustness, the unsigned form (`0..=u32::MAX`), which is reinterpreted as signed.
pub(crate) fn crc32c_lenient<'de, D>(deserializer: D) -> Result<Option<i32>, D::Error>
where
    D: Deserializer<'de>,
{
    let Some(value) = Option::<i64>::deserialize(deserializer)? else {
        return Ok(None);
    };
    if let Ok(signed) = i32::try_from(value) {
        return Ok(Some(signed));
    }
    match u32::try_from(value) {
        // Reinterpreting the unsigned CRC's bits as signed is the wire convention.
        Ok(unsigned) => Ok(Some(unsigned as i32)),
        Err(_) => Err(serde::de::Error::custom(format!(
            "crc32c {value} is outside the 32-bit range"
        ))),
    }
}
