//! End-to-end tests of `dtvi datasets` against a real emulator on 127.0.0.1: create, get,
//! list (pages, cursors, `--all`) and delete, in JSON and human output.

use vi_testkit::TestEnv;

use crate::common;

use common::{arr, create_dataset, human, json};

#[test]
fn datasets_create_get_list_page_and_delete() {
    let env = TestEnv::new();
    let created = json(
        &env,
        &[
            "datasets",
            "create",
            "Drone survey",
            "--description",
            "spring",
            "--type",
            "vqa",
        ],
    );
    let first = created["dataset_id"].as_str().unwrap().to_owned();
    assert_eq!(created["name"], "Drone survey");
    assert_eq!(created["type"], "vqa");
    // One naming scheme: snake_case field names, the short id under `dataset_id`.
    assert!(created.get("datasetId").is_none(), "{created}");
    assert!(created["workspace_id"].is_string(), "{created}");
    let second = create_dataset(&env, "Second");

    let got = json(&env, &["datasets", "get", &first]);
    assert_eq!(got["dataset_id"], first.as_str());
    assert_eq!(got["description"], "spring");
    assert_eq!(got["statistic"]["asset_total"], 0);

    let (table, _) = human(&env, &["datasets", "get", &first], 0);
    assert!(
        table.contains("Drone survey") && table.contains("vqa"),
        "{table}"
    );

    // One page, with a cursor to continue.
    let page = json(&env, &["datasets", "list", "--page-size", "1"]);
    assert_eq!(arr(&page["items"]).len(), 1);
    let cursor = page["next_cursor"]
        .as_str()
        .expect("a next cursor")
        .to_owned();
    let rest = json(
        &env,
        &["datasets", "list", "--page-size", "1", "--cursor", &cursor],
    );
    let mut ids: Vec<String> = [&page, &rest]
        .iter()
        .map(|p| p["items"][0]["dataset_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    let mut expected = vec![first.clone(), second.clone()];
    expected.sort();
    assert_eq!(ids, expected);
    assert!(rest["next_cursor"].is_null());

    // Human: a table, and the hint with the cursor on stderr.
    let (stdout, stderr) = human(&env, &["datasets", "list", "--page-size", "1"], 0);
    assert!(stdout.starts_with("ID "), "{stdout}");
    assert!(stderr.contains("--cursor "), "{stderr}");
    let (stdout, _) = human(&env, &["datasets", "list", "--all", "--page-size", "1"], 0);
    assert!(
        stdout.contains("Drone survey") && stdout.contains("Second"),
        "{stdout}"
    );

    // --all --json: one array, streamed.
    let all = json(&env, &["datasets", "list", "--all", "--page-size", "1"]);
    assert_eq!(arr(&all).len(), 2);

    let deleted = json(&env, &["datasets", "delete", &second, "--yes", "--wait"]);
    assert_eq!(deleted["dataset_id"], second.as_str());
    let (_, stderr) = human(&env, &["datasets", "get", &second], 5);
    assert!(stderr.starts_with("error: "), "{stderr}");
    let (stdout, _) = human(&env, &["datasets", "delete", &first, "--yes"], 0);
    assert!(stdout.contains(&first), "{stdout}");
    let all = json(&env, &["datasets", "list", "--all"]);
    assert!(arr(&all).is_empty());
}
