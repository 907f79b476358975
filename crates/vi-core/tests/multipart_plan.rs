//! The part-boundary rule of multipart uploads (docs/protocol.md §6.8): `base = size / N`, part `n`
//! covers `[(n−1)·base, n·base)`, the last part runs to the end. Pure, no I/O.

use std::ops::Range;

use vi_core::upload::multipart::{PartPlan, PartPlanError, part_ranges};

fn ranges(size: u64, n: u64) -> Vec<Range<u64>> {
    part_ranges(size, n).unwrap().collect()
}

/// The ranges are contiguous, start at 0, end at `size`, and all but the last have length
/// `base`.
fn check_tiling(size: u64, n: u64) {
    let plan = PartPlan::new(size, n).unwrap();
    let mut expected_start = 0;
    let mut count = 0;
    for (i, r) in plan.ranges().enumerate() {
        let part = i as u64 + 1;
        assert_eq!(r.start, expected_start, "part {part} of {n} for {size}");
        assert_eq!(plan.range(part), Some(r.clone()));
        if part < n {
            assert_eq!(r.end - r.start, size / n);
        }
        expected_start = r.end;
        count += 1;
    }
    assert_eq!(count, n);
    assert_eq!(expected_start, size);
}

#[test]
fn one_part_is_the_whole_file() {
    assert_eq!(ranges(12345, 1), vec![0..12345]);
    assert_eq!(ranges(1, 1), vec![0..1]);
    // A single part of an empty file is well-defined (empty files are skipped earlier).
    assert_eq!(ranges(0, 1), vec![0..0]);
}

#[test]
fn an_even_split() {
    assert_eq!(ranges(12, 3), vec![0..4, 4..8, 8..12]);
    assert_eq!(ranges(4, 4), vec![0..1, 1..2, 2..3, 3..4]);
    check_tiling(64 * 1024 * 5, 5);
}

#[test]
fn the_remainder_goes_to_the_last_part() {
    assert_eq!(ranges(14, 4), vec![0..3, 3..6, 6..9, 9..14]);
    assert_eq!(ranges(10, 3), vec![0..3, 3..6, 6..10]);
    // The spec's example: 2 GiB in 32 parts of 64 MiB.
    let parts = ranges(2_147_483_648, 32);
    assert!(parts.iter().all(|r| r.end - r.start == 64 << 20));
    // 300 KiB in ceil(300/64) = 5 parts, as the emulator cuts it with 64 KiB parts: the
    // floor rule gives 61440-byte parts, not 64 KiB ones.
    assert_eq!(
        ranges(300 * 1024, 5),
        vec![
            0..61440,
            61440..122880,
            122880..184320,
            184320..245760,
            245760..307200
        ]
    );
    for (size, n) in [(1_000_003, 7), (99, 98), (1 << 30, 17), ((1 << 30) + 1, 16)] {
        check_tiling(size, n);
    }
}

#[test]
fn zero_parts_is_refused() {
    assert_eq!(part_ranges(10, 0).unwrap_err(), PartPlanError::NoParts);
    assert!(PartPlan::new(0, 0).is_err());
}

#[test]
fn more_parts_than_bytes_is_refused_with_a_clear_error() {
    // base would be 0: every part but the last empty. Storage services refuse empty parts,
    // so the plan is refused rather than sending them.
    let err = PartPlan::new(3, 4).unwrap_err();
    assert_eq!(err, PartPlanError::MorePartsThanBytes { parts: 4, size: 3 });
    let text = err.to_string();
    assert!(
        text.contains("4 parts") && text.contains("3 bytes"),
        "{text}"
    );
    assert!(PartPlan::new(0, 2).is_err());
    // As many parts as bytes is fine: one byte each.
    assert_eq!(ranges(3, 3), vec![0..1, 1..2, 2..3]);
}

#[test]
fn huge_sizes_do_not_overflow() {
    for n in [1, 2, 3, 7, 10_000, u64::MAX / 2, u64::MAX] {
        let plan = PartPlan::new(u64::MAX, n).unwrap();
        let last = plan.range(n).unwrap();
        assert_eq!(last.end, u64::MAX);
        assert_eq!(last.start, (n - 1) * (u64::MAX / n));
        let first = plan.range(1).unwrap();
        assert_eq!(first, 0..u64::MAX / n);
    }
    check_tiling(u64::MAX, 10_000);
    check_tiling(u64::MAX - 1, 3);
    // 512 GiB (the documented video limit) in the emulator's 10 000-part cap.
    check_tiling(512 << 30, 10_000);
}

#[test]
fn parts_are_numbered_from_one_and_computed_lazily() {
    let plan = PartPlan::new(100, 3).unwrap();
    assert_eq!(plan.range(0), None);
    assert_eq!(plan.range(4), None);
    assert_eq!(plan.count(), 3);
    assert_eq!(plan.base(), 33);
    assert_eq!(plan.size(), 100);
    // A huge part count costs nothing until iterated.
    let mut lazy = part_ranges(u64::MAX, u64::MAX).unwrap();
    assert_eq!(lazy.next(), Some(0..1));
    assert_eq!(lazy.next(), Some(1..2));
    let small = part_ranges(10, 3).unwrap();
    assert_eq!(small.size_hint(), (3, Some(3)));
}
