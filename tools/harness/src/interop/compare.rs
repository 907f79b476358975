//! The comparison of `cargo xtask interop`: per operation, the two recordings' request
//! counts, statuses, query value classes, body shapes and headers, each difference looked
//! up in the allow-list; and the fixed credential rules (docs/protocol.md §1.3/§1.4) on every request.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::allowlist::Allowlist;
use super::recording::{OpKey, Request};

/// Flattens a body shape into path -> type (`object`, `array`, `string`, `int`, …).
fn flatten(shape: &Value, path: &str, out: &mut BTreeMap<String, BTreeSet<String>>) {
    let mut add = |t: &str| {
        out.entry(path.to_owned()).or_default().insert(t.to_owned());
    };
    match shape {
        Value::Object(map) => {
            add("object");
            for (k, v) in map {
                let sub = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                flatten(v, &sub, out);
            }
        }
        Value::Array(items) => {
            add("array");
            for item in items {
                flatten(item, &format!("{path}[]"), out);
            }
        }
        Value::String(t) => add(t),
        other => add(&other.to_string()),
    }
}

/// Everything compared for one side of one operation.
#[derive(Debug, Default)]
struct Side {
    count: usize,
    statuses: BTreeSet<u64>,
    query: BTreeMap<String, BTreeSet<String>>,
    body: BTreeMap<String, BTreeSet<String>>,
    headers: BTreeMap<String, BTreeSet<String>>,
}

const ABSENT: &str = "<absent>";

impl Side {
    fn build(requests: &[&Request], header_names: &BTreeSet<String>) -> Side {
        let mut side = Side {
            count: requests.len(),
            ..Side::default()
        };
        for r in requests {
            side.statuses.insert(r.status);
            for (k, class) in &r.query {
                side.query
                    .entry(k.clone())
                    .or_default()
                    .insert(class.clone());
            }
            match &r.body {
                None => {
                    side.body
                        .entry("(body)".into())
                        .or_default()
                        .insert("none".into());
                }
                Some(shape) => {
                    let mut flat = BTreeMap::new();
                    flatten(shape, "", &mut flat);
                    for (path, types) in flat {
                        let path = if path.is_empty() {
                            "(body)".to_owned()
                        } else {
                            path
                        };
                        side.body.entry(path).or_default().extend(types);
                    }
                }
            }
            for name in header_names {
                let value = r.headers.get(name).map_or(ABSENT, String::as_str);
                side.headers
                    .entry(name.clone())
                    .or_default()
                    .insert(value.to_owned());
            }
        }
        side
    }

    fn summary(&self) -> String {
        if self.count == 0 {
            return "-".into();
        }
        let statuses: Vec<String> = self.statuses.iter().map(u64::to_string).collect();
        format!("{}× {}", self.count, statuses.join("/"))
    }
}

fn show(set: Option<&BTreeSet<String>>) -> String {
    match set {
        None => ABSENT.to_owned(),
        Some(s) => s.iter().cloned().collect::<Vec<_>>().join(" | "),
    }
}

/// One difference found in one operation.
#[derive(Debug)]
pub(super) struct Difference {
    pub(super) what: String,
    pub(super) official: String,
    pub(super) ours: String,
    pub(super) allowed: Option<usize>,
}

#[derive(Debug)]
pub(super) struct Row {
    pub(super) op: OpKey,
    pub(super) official: String,
    pub(super) ours: String,
    pub(super) differences: Vec<Difference>,
}

#[derive(Debug, Default)]
pub(super) struct Comparison {
    pub(super) rows: Vec<Row>,
    /// Rule violations that no allow-list entry can excuse.
    pub(super) rules: Vec<String>,
    pub(super) unexplained: usize,
    pub(super) used: BTreeSet<usize>,
    pub(super) reasons: Vec<String>,
}

/// The fixed rules of docs/protocol.md §1.3/§1.4, checked on every request of a recording.
fn check_rules(side: &str, requests: &[Request], out: &mut Vec<String>) {
    for (i, r) in requests.iter().enumerate() {
        let at = format!("{side} request #{} ({} {})", i + 1, r.method, r.route);
        if r.route.starts_with("/_storage/") {
            for h in ["Authorization", "Organization-Id"] {
                if r.headers.contains_key(h) {
                    out.push(format!("{at}: a signed-URL request carries {h}"));
                }
            }
        } else {
            if !r
                .headers
                .get("Authorization")
                .is_some_and(|v| v.starts_with("Bearer "))
            {
                out.push(format!("{at}: no `Authorization: Bearer …`"));
            }
            if !r.headers.contains_key("Organization-Id") {
                out.push(format!("{at}: no Organization-Id"));
            }
        }
        if r.route == "unmatched" || r.route == "fault" {
            out.push(format!(
                "{at}: the emulator matched no route (status {})",
                r.status
            ));
        }
    }
}

pub(super) fn compare(official: &[Request], ours: &[Request], allow: &Allowlist) -> Comparison {
    let mut comparison = Comparison::default();
    check_rules("official", official, &mut comparison.rules);
    check_rules("ours", ours, &mut comparison.rules);

    // Operations in the order the official client first sent them, then ours.
    let mut order: Vec<OpKey> = Vec::new();
    for r in official.iter().chain(ours) {
        let key = OpKey::of(r);
        if !order.contains(&key) {
            order.push(key);
        }
    }
    for op in order {
        let (off_reqs, our_reqs) = (op.pick(official), op.pick(ours));
        let header_names: BTreeSet<String> = off_reqs
            .iter()
            .chain(&our_reqs)
            .flat_map(|r| r.headers.keys().cloned())
            .collect();
        let off = Side::build(&off_reqs, &header_names);
        let our = Side::build(&our_reqs, &header_names);
        let mut diffs: Vec<(String, String, String)> = Vec::new();
        if off.count == 0 || our.count == 0 {
            let what = if off.count == 0 {
                "only-ours"
            } else {
                "only-official"
            };
            diffs.push((what.into(), off.summary(), our.summary()));
        } else {
            if off.count != our.count {
                diffs.push(("count".into(), off.count.to_string(), our.count.to_string()));
            }
            if off.statuses != our.statuses {
                diffs.push(("status".into(), off.summary(), our.summary()));
            }
            let mut push_maps =
                |prefix: &str,
                 a: &BTreeMap<String, BTreeSet<String>>,
                 b: &BTreeMap<String, BTreeSet<String>>| {
                    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
                    for k in keys {
                        if a.get(k) != b.get(k) {
                            diffs.push((format!("{prefix}:{k}"), show(a.get(k)), show(b.get(k))));
                        }
                    }
                };
            push_maps("query", &off.query, &our.query);
            push_maps("body", &off.body, &our.body);
            push_maps("header", &off.headers, &our.headers);
        }
        let mut differences = Vec::new();
        for (what, o, u) in diffs {
            let allowed = allow.find(&op, &what, &o, &u);
            match allowed {
                Some(i) => {
                    comparison.used.insert(i);
                }
                None => comparison.unexplained += 1,
            }
            differences.push(Difference {
                what,
                official: o,
                ours: u,
                allowed,
            });
        }
        comparison.rows.push(Row {
            official: off.summary(),
            ours: our.summary(),
            op,
            differences,
        });
    }
    comparison.unexplained += comparison.rules.len();
    comparison.reasons = allow.entries.iter().map(|e| e.reason.clone()).collect();
    comparison
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interop::allowlist::Allowed;

    fn request(method: &str, route: &str, query: &[(&str, &str)], body: Option<Value>) -> Request {
        let mut headers = BTreeMap::new();
        if !route.starts_with("/_storage/") {
            headers.insert("Authorization".to_owned(), "Bearer <redacted>".to_owned());
            headers.insert("Organization-Id".to_owned(), "<present>".to_owned());
            headers.insert("Content-Type".to_owned(), "application/json".to_owned());
        }
        Request {
            method: method.to_owned(),
            route: route.to_owned(),
            query: query
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body,
            headers,
            status: 200,
        }
    }

    const A1: &str = "/workspaces/{org}/datasets/{dsc}/assets";
    const U1: &str = "/workspaces/{org}/datasets/{dsc}/assetSources/{src}/assetIngestionSessions";

    fn differences(c: &Comparison) -> Vec<String> {
        c.rows
            .iter()
            .flat_map(|r| {
                r.differences
                    .iter()
                    .map(move |d| format!("{} {}", r.op.id(), d.what))
            })
            .collect()
    }

    #[test]
    fn identical_recordings_have_no_difference() {
        let rs = vec![
            request("GET", A1, &[("s", "int")], None),
            request(
                "POST",
                U1,
                &[],
                Some(serde_json::json!({"spec": {"assets": [{"size": "int"}]}})),
            ),
        ];
        let c = compare(&rs, &rs, &Allowlist::default());
        assert_eq!(c.unexplained, 0, "{:?}", differences(&c));
        assert!(c.rules.is_empty());
    }

    #[test]
    fn body_query_header_and_count_differences_are_found() {
        let official = vec![
            request("GET", A1, &[("s", "int"), ("contents", "y")], None),
            request(
                "POST",
                U1,
                &[],
                Some(
                    serde_json::json!({"spec": {"assets": [{"size": "int", "crc32c": "int", "customMetadata": "null"}]}}),
                ),
            ),
        ];
        let mut ours = vec![
            request("GET", A1, &[("s", "string"), ("contents", "y")], None),
            request(
                "POST",
                U1,
                &[],
                Some(serde_json::json!({"spec": {"assets": [{"size": "float", "crc32c": "int"}]}})),
            ),
            request("GET", A1, &[("s", "string"), ("contents", "y")], None),
        ];
        ours[1]
            .headers
            .insert("Content-Type".to_owned(), "text/plain".to_owned());
        let c = compare(&official, &ours, &Allowlist::default());
        let found = differences(&c);
        for expected in [
            "A1 count",
            "A1 query:s",
            "U1 body:spec.assets[].size",
            "U1 body:spec.assets[].customMetadata",
            "U1 header:Content-Type",
        ] {
            assert!(
                found.iter().any(|f| f == expected),
                "{expected} not in {found:?}"
            );
        }
        assert_eq!(c.unexplained, found.len());
    }

    #[test]
    fn one_sided_operations_and_allow_list() {
        let official = vec![request("GET", A1, &[("s", "int")], None)];
        let ours = vec![
            request("GET", A1, &[("s", "int")], None),
            request("GET", A1, &[("p", "token"), ("s", "int")], None),
        ];
        let c = compare(&official, &ours, &Allowlist::default());
        assert_eq!(differences(&c), ["A1 only-ours"]);
        let allow = Allowlist {
            entries: vec![Allowed {
                operation: "A1".into(),
                query: "*p*".into(),
                difference: "only-ours".into(),
                official: "*".into(),
                ours: "*".into(),
                reason: "we follow tokens".into(),
            }],
        };
        let c = compare(&official, &ours, &allow);
        assert_eq!(c.unexplained, 0);
        assert!(c.used.contains(&0));
    }

    #[test]
    fn credentials_on_signed_urls_break_a_rule() {
        let mut put = request(
            "PUT",
            "/_storage/upload/{ingestionId}/{filename}",
            &[],
            None,
        );
        put.headers
            .insert("Authorization".to_owned(), "Bearer <redacted>".to_owned());
        let c = compare(&[put.clone()], &[put], &Allowlist::default());
        assert_eq!(c.rules.len(), 2);
        assert_eq!(c.unexplained, 2);
    }
}
