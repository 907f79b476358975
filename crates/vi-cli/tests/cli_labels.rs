//! End-to-end tests of `vi annotations`, `vi sessions`, `vi assets delete-many` and
//! `vi datasets update` against a test emulator.

use crate::common;

use common::{arr, create_dataset, human, images, json, s};
use vi_testkit::{TestEnv, write_file};

/// Uploads `n` images and returns (asset id, filename, width, height) in name order.
fn uploaded(env: &TestEnv, ds: &str, n: u32) -> Vec<(String, String, u32, u32)> {
    let dir = env.path("images");
    images(&dir, n);
    json(env, &["assets", "upload", "--dataset", ds, s(&dir)]);
    let page = json(env, &["assets", "list", "--dataset", ds, "--all"]);
    let mut assets: Vec<(String, String, u32, u32)> = arr(&page)
        .iter()
        .map(|a| {
            let name = a["filename"].as_str().unwrap().to_owned();
            let i: u32 = name
                .trim_start_matches("img")
                .trim_end_matches(".png")
                .parse()
                .unwrap();
            (a["asset_id"].as_str().unwrap().to_owned(), name, 16 + i, 16)
        })
        .collect();
    assets.sort_by(|a, b| a.1.cmp(&b.1));
    assets
}

/// A Vi JSONL line for an asset: a caption and one grounded phrase with one box.
fn line(id: &str, name: &str, w: u32, h: u32) -> String {
    format!(
        r#"{{"id":"{id}","asset":{{"type":"Image","filename":"{name}","width":{w},"height":{h}}},"contents":{{"type":"PhraseGrounding","caption":"a red car","groundedPhrases":[{{"phrase":"a red car","startTokenIndex":0,"endTokenIndex":3,"bounds":[[0.1,0.2,0.5,0.8]]}}]}}}}"#
    )
}

#[test]
fn annotations_are_imported_and_listed_and_duplicates_refused() {
    let env = TestEnv::new();
    let ds = create_dataset(&env, "labels");
    let assets = uploaded(&env, &ds, 2);
    let file = env.path("labels.jsonl");
    let text: Vec<String> = assets
        .iter()
        .enumerate()
        .map(|(i, (_, name, w, h))| line(&format!("an-{i}"), name, *w, *h))
        .collect();
    write_file(&file, format!("{}\n", text.join("\n")).as_bytes());
    let got = json(&env, &["annotations", "upload", "--dataset", &ds, s(&file)]);
    assert_eq!(got["state"], "done", "{got}");
    assert_eq!(got["annotations"], 2);
    assert_eq!(arr(&got["files"])[0]["outcome"], "uploaded");
    let parts = json(
        &env,
        &[
            "annotations",
            "list",
            "--dataset",
            &ds,
            "--asset",
            &assets[0].0,
        ],
    );
    let parts = arr(&parts["items"]);
    assert_eq!(parts.len(), 2, "a caption and a box");
    assert_eq!(parts[0]["spec"]["aggregation"]["whole"]["id"], "an-0");
    let (table, _) = human(
        &env,
        &[
            "annotations",
            "list",
            "--dataset",
            &ds,
            "--asset",
            &assets[0].0,
        ],
        0,
    );
    assert!(table.contains("PhraseGroundingBoundingBox"), "{table}");

    // Two files of one name are refused (usage error), naming both; --prefix-folders
    // imports them.
    let root = env.path("split");
    write_file(
        &root.join("a").join("l.jsonl"),
        line("x-1", &assets[0].1, 16, 16).as_bytes(),
    );
    write_file(
        &root.join("b").join("l.jsonl"),
        line("x-2", &assets[1].1, 17, 16).as_bytes(),
    );
    let (_, err) = human(
        &env,
        &["annotations", "upload", "--dataset", &ds, s(&root)],
        2,
    );
    assert!(
        err.contains("a/l.jsonl") && err.contains("b/l.jsonl"),
        "{err}"
    );
    let got = json(
        &env,
        &[
            "annotations",
            "upload",
            "--dataset",
            &ds,
            "--prefix-folders",
            s(&root),
        ],
    );
    assert_eq!(got["state"], "done", "{got}");
    let mut names: Vec<&str> = arr(&got["files"])
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["a__l.jsonl", "b__l.jsonl"]);
}

#[test]
fn an_upload_without_waiting_is_looked_at_and_waited_for_by_session() {
    let env = TestEnv::new();
    let ds = create_dataset(&env, "later");
    let dir = env.path("images");
    images(&dir, 3);
    // Exit 0 when the emulator finished the files before the reply, 4 while processing.
    let output = common::vi(&env)
        .args([
            "--json",
            "assets",
            "upload",
            "--dataset",
            &ds,
            "--no-wait",
            s(&dir),
        ])
        .output()
        .expect("vi runs");
    assert!(matches!(output.status.code(), Some(0 | 4)), "{output:?}");
    let report = String::from_utf8_lossy(&output.stdout);
    let listed = json(&env, &["sessions", "list", "--dataset", &ds]);
    let sessions = arr(&listed["items"]);
    assert_eq!(sessions.len(), 1, "{listed} after {report}");
    let id = sessions[0]["id"].as_str().unwrap().to_owned();
    let waited = json(&env, &["sessions", "wait", "--dataset", &ds, &id]);
    assert_eq!(waited["items"][0]["state"], "finished", "{waited}");
    assert_eq!(waited["items"][0]["succeeded"], 3);
    let got = json(&env, &["sessions", "get", "--dataset", &ds, &id]);
    assert_eq!(got["items"][0]["id"], id.as_str());
    let (_, err) = human(&env, &["sessions", "get", "--dataset", &ds, "nope"], 5);
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn delete_many_needs_criteria_and_datasets_update_changes_the_name() {
    let env = TestEnv::new();
    let ds = create_dataset(&env, "curation");
    let assets = uploaded(&env, &ds, 3);
    let (_, err) = human(&env, &["assets", "delete-many", "--dataset", &ds], 2);
    assert!(err.contains("--all"), "{err}");
    let filter = format!("filename == \"{}\"", assets[0].1);
    let got = json(
        &env,
        &[
            "assets",
            "delete-many",
            "--dataset",
            &ds,
            "--filter",
            &filter,
        ],
    );
    assert_eq!(got["state"], "done", "{got}");
    let left = json(&env, &["assets", "list", "--dataset", &ds, "--all"]);
    assert_eq!(arr(&left).len(), 2);

    let updated = json(
        &env,
        &[
            "datasets",
            "update",
            &ds,
            "--name",
            "Cleaned",
            "--attribute",
            "team=cv",
        ],
    );
    assert_eq!(updated["name"], "Cleaned", "{updated}");
    let got = json(&env, &["datasets", "get", &ds]);
    assert_eq!(got["name"], "Cleaned", "{got}");
    let (_, err) = human(&env, &["datasets", "update", &ds], 2);
    assert!(err.contains("nothing to change"), "{err}");
}
