//! The report of `cargo xtask interop`: the table of operations with each side's request
//! counts and statuses, the unexplained differences in full, the allowed ones grouped with
//! their reasons, and the rule violations.

use std::collections::{BTreeMap, BTreeSet};

use super::compare::{Comparison, Row};

/// Allowed differences of one kind: how many operations, the values on each side.
type Group = (usize, BTreeSet<String>, BTreeSet<String>);

impl Comparison {
    fn status_of(&self, row: &Row) -> String {
        if row.differences.is_empty() {
            return "same".into();
        }
        if row.differences.iter().any(|d| d.allowed.is_none()) {
            let what: Vec<&str> = row
                .differences
                .iter()
                .filter(|d| d.allowed.is_none())
                .map(|d| d.what.as_str())
                .collect();
            return format!("DIFFERENT: {}", what.join(", "));
        }
        let refs: BTreeSet<usize> = row.differences.iter().filter_map(|d| d.allowed).collect();
        let refs: Vec<String> = refs.iter().map(|i| (i + 1).to_string()).collect();
        let what: Vec<&str> = row
            .differences
            .iter()
            .map(|d| d.what.strip_prefix("header:").unwrap_or(&d.what))
            .collect();
        format!("allowed: {} [{}]", what.join(", "), refs.join(","))
    }

    pub(super) fn print(&self) {
        let labels: Vec<String> = self.rows.iter().map(|r| r.op.label()).collect();
        let w = labels.iter().map(String::len).max().unwrap_or(9).max(9);
        println!(
            "{:<w$}  {:<12}  {:<12}  status",
            "operation", "official", "ours"
        );
        println!("{}", "-".repeat(w + 2 + 12 + 2 + 12 + 2 + 30));
        for (row, label) in self.rows.iter().zip(&labels) {
            println!(
                "{label:<w$}  {:<12}  {:<12}  {}",
                row.official,
                row.ours,
                self.status_of(row)
            );
        }
        // Unexplained differences in full; allowed ones grouped by kind.
        let mut details = Vec::new();
        let mut grouped: BTreeMap<(usize, String), Group> = BTreeMap::new();
        for (row, label) in self.rows.iter().zip(&labels) {
            for d in &row.differences {
                match d.allowed {
                    Some(i) => {
                        let g = grouped.entry((i, d.what.clone())).or_default();
                        g.0 += 1;
                        g.1.insert(d.official.clone());
                        g.2.insert(d.ours.clone());
                    }
                    None => details.push(format!(
                        "  {label}: {}: official {} / ours {}",
                        d.what, d.official, d.ours
                    )),
                }
            }
        }
        if !details.is_empty() {
            println!("\nDIFFERENT (not in the allow-list):");
            for d in details {
                println!("{d}");
            }
        }
        let cited: BTreeSet<usize> = grouped.keys().map(|(i, _)| *i).collect();
        if !grouped.is_empty() {
            println!("\nallowed differences:");
            for ((i, what), (n, official, ours)) in &grouped {
                let join = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(" ; ");
                println!(
                    "  [{}] {what} in {n} operation(s): official {} / ours {}",
                    i + 1,
                    join(official),
                    join(ours)
                );
            }
        }
        if !cited.is_empty() {
            println!("\nallowed because (interop/allowlist.json):");
            for i in cited {
                println!("  [{}] {}", i + 1, self.reasons[i]);
            }
        }
        if !self.rules.is_empty() {
            println!("\nrule violations (docs/protocol.md §1.3/§1.4; cannot be allow-listed):");
            for r in &self.rules {
                println!("  DIFFERENT: {r}");
            }
        }
    }
}
