//! End-to-end tests of `dtvi assets` against a real emulator on 127.0.0.1: upload, list,
//! count, get (and `--url`), rename and delete, and a partial upload's report and exit
//! code.

use serde_json::Value;
use vi_testkit::{TestEnv, write_file};

use crate::common;

use common::{arr, create_dataset, human, images, json, json_with_code, s};

#[test]
fn upload_list_count_get_rename_delete() {
    let env = TestEnv::new();
    let ds = create_dataset(&env, "assets");
    let dir = env.path("photos");
    let files = images(&dir, 3);
    let total_bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();

    let report = json(&env, &["assets", "upload", "--dataset", &ds, s(&dir)]);
    assert_eq!(arr(&report["succeeded"]).len(), 3, "{report}");
    assert!(arr(&report["failed"]).is_empty());
    assert!(arr(&report["skipped"]).is_empty());
    assert!(arr(&report["processing"]).is_empty());
    assert_eq!(report["total_files"], 3);
    assert_eq!(report["bytes"], total_bytes);
    assert_eq!(report["success_rate"], 100.0);
    assert_eq!(report["success"], true);
    assert_eq!(report["cancelled"], false);
    assert_eq!(report["dataset_id"], ds.as_str());
    assert!(!arr(&report["session_ids"]).is_empty());
    assert!(report["duration_secs"].as_f64().unwrap() >= 0.0);
    let first = &report["succeeded"][0];
    assert!(first["source"].as_str().unwrap().ends_with(".png"));
    assert!(first["session_id"].is_string());

    // Listing: one page, all pages, sorting and filtering.
    let page = json(&env, &["assets", "list", "--dataset", &ds]);
    let items = arr(&page["items"]);
    assert_eq!(items.len(), 3);
    assert!(page["next_cursor"].is_null());
    let all = json(
        &env,
        &[
            "assets",
            "list",
            "--dataset",
            &ds,
            "--all",
            "--page-size",
            "1",
            "--sort",
            "filename",
            "--desc",
        ],
    );
    let names: Vec<&str> = arr(&all)
        .iter()
        .map(|a| a["filename"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["img2.png", "img1.png", "img0.png"]);
    let wide = json(
        &env,
        &[
            "assets",
            "list",
            "--dataset",
            &ds,
            "--filter",
            "metadata.width >= 17",
        ],
    );
    assert_eq!(arr(&wide["items"]).len(), 2);
    let (table, stderr) = human(
        &env,
        &["assets", "list", "--dataset", &ds, "--page-size", "2"],
        0,
    );
    assert!(table.starts_with("ASSET ID"), "{table}");
    assert_eq!(table.lines().count(), 3, "{table}");
    assert!(stderr.contains("--cursor"), "{stderr}");

    // Counting.
    let count = json(&env, &["assets", "count", "--dataset", &ds]);
    assert_eq!(count["count"], 3);
    let count = json(
        &env,
        &[
            "assets",
            "count",
            "--dataset",
            &ds,
            "--filter",
            "metadata.width >= 17",
        ],
    );
    assert_eq!(count["count"], 2);
    let (stdout, _) = human(&env, &["assets", "count", "--dataset", &ds], 0);
    assert_eq!(stdout.trim(), "3");

    // One asset.
    let id = items
        .iter()
        .find(|a| a["filename"] == "img0.png")
        .and_then(|a| a["asset_id"].as_str())
        .unwrap()
        .to_owned();
    let asset = json(&env, &["assets", "get", "--dataset", &ds, &id]);
    assert_eq!(asset["asset_id"], id.as_str());
    assert_eq!(asset["metadata"]["width"], 16);
    let (stdout, _) = human(&env, &["assets", "get", "--dataset", &ds, &id], 0);
    assert!(
        stdout.contains("img0.png") && stdout.contains("16x16"),
        "{stdout}"
    );

    // Rename, then delete.
    let renamed = json(
        &env,
        &["assets", "rename", "--dataset", &ds, &id, "renamed.png"],
    );
    assert_eq!(renamed["filename"], "renamed.png");
    assert_eq!(renamed["asset_id"], id.as_str());
    let (stdout, _) = human(&env, &["assets", "delete", "--dataset", &ds, &id], 0);
    assert!(stdout.contains(&id), "{stdout}");
    let count = json(&env, &["assets", "count", "--dataset", &ds]);
    assert_eq!(count["count"], 2);
    human(&env, &["assets", "get", "--dataset", &ds, &id], 5);
    let deleted = json(
        &env,
        &[
            "assets",
            "delete",
            "--dataset",
            &ds,
            arr(&all)[0]["asset_id"].as_str().unwrap(),
        ],
    );
    assert_eq!(deleted["deleted"], true);
}

#[test]
fn partial_upload_exits_4_and_reports_every_file() {
    let env = TestEnv::new();
    let ds = create_dataset(&env, "partial");
    let dir = env.path("mixed");
    images(&dir, 2);
    // Named like an image, but its content is text: left out with a reason.
    write_file(&dir.join("broken.png"), b"this is not an image at all");

    let report = json_with_code(
        &env,
        &[
            "assets",
            "upload",
            "--dataset",
            &ds,
            "--failure-mode",
            "fail-after-all",
            s(&dir),
        ],
        4,
    );
    assert_eq!(arr(&report["succeeded"]).len(), 2, "{report}");
    let problems: Vec<&Value> = arr(&report["failed"])
        .iter()
        .chain(arr(&report["skipped"]))
        .collect();
    assert_eq!(problems.len(), 1, "{report}");
    assert_eq!(problems[0]["filename"], "broken.png");
    assert!(!problems[0]["reason"].as_str().unwrap().is_empty());
    assert_eq!(report["success"], false);
    assert_eq!(report["total_files"], 3);

    // Human: the problem, with its reason, is on stderr (a user redirecting stdout to a
    // log still sees it); stdout has the numbers.
    let (stdout, stderr) = human(
        &env,
        &[
            "assets",
            "upload",
            "--dataset",
            &ds,
            "--failure-mode",
            "fail-after-all",
            "--overwrite-mode",
            "keep-linked",
            "--concurrency",
            "2",
            "--batch-size",
            "10",
            "--wait-timeout",
            "60",
            s(&dir),
        ],
        4,
    );
    assert!(
        stderr.contains("broken.png") && stderr.contains("not a recognised image"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: of 3 files, 1 skipped"),
        "{stderr}"
    );
    assert!(stdout.contains("Skipped"), "{stdout}");
}

#[test]
fn get_url_prints_a_url_that_fetches_the_file() {
    let env = TestEnv::new();
    let ds = create_dataset(&env, "urls");
    let dir = env.path("one");
    let files = images(&dir, 1);
    json(&env, &["assets", "upload", "--dataset", &ds, s(&files[0])]);
    let listed = json(&env, &["assets", "list", "--dataset", &ds]);
    let id = listed["items"][0]["asset_id"].as_str().unwrap().to_owned();

    let (stdout, stderr) = human(&env, &["assets", "get", "--dataset", &ds, &id, "--url"], 0);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let url = stdout.trim();
    assert!(
        url.starts_with("http://") && url.contains("signature="),
        "{url}"
    );
    assert!(stderr.contains("expires"), "{stderr}");

    // The URL works on its own (fetched with the SDK's signed-URL download).
    let client = vi_blocking::Client::builder()
        .endpoint(env.emulator.url())
        .secret_key(env.emulator.secret_key())
        .organization_id(env.emulator.organization_id())
        .build()
        .unwrap();
    let signed = vi_blocking::models::SignedUrl {
        url: url.to_owned(),
        ..Default::default()
    };
    let target = env.path("fetched.png");
    client.assets().download_url(&signed, &target).unwrap();
    assert_eq!(
        std::fs::read(&target).unwrap(),
        std::fs::read(&files[0]).unwrap()
    );

    // --json --url keeps the real URL; plain --json has none to leak.
    let with_url = json(&env, &["assets", "get", "--dataset", &ds, &id, "--url"]);
    let json_url = with_url["contents"]["asset"]["url"].as_str().unwrap();
    assert!(json_url.contains("signature="), "{json_url}");
    assert_eq!(json_url.split('?').next(), url.split('?').next());
    let plain = json(&env, &["assets", "get", "--dataset", &ds, &id]);
    assert!(!plain.to_string().contains("signature="), "{plain}");
}

/// Names from the service reach a terminal escaped: an asset renamed to hold an ANSI escape
/// sequence and a newline is listed with both shown as `\u{..}`, never raw; `--json` keeps
/// the exact name.
#[test]
fn control_characters_from_the_service_are_escaped_in_human_output() {
    let env = TestEnv::new();
    let ds = create_dataset(&env, "controls");
    let dir = env.path("c");
    images(&dir, 1);
    json(&env, &["assets", "upload", "--dataset", &ds, s(&dir)]);
    let listed = json(&env, &["assets", "list", "--dataset", &ds, "--all"]);
    let id = arr(&listed)[0]["asset_id"].as_str().unwrap().to_owned();
    let hostile = "\u{1b}[2J\u{1b}[31mred\nDownload complete.png";
    json(&env, &["assets", "rename", "--dataset", &ds, &id, hostile]);

    let (stdout, _) = human(&env, &["assets", "list", "--dataset", &ds, "--all"], 0);
    assert!(!stdout.contains('\u{1b}'), "{stdout:?}");
    assert!(!stdout.contains("\nDownload complete"), "{stdout:?}");
    assert!(
        stdout.contains("\\u{1b}[31mred\\u{a}Download complete.png"),
        "{stdout:?}"
    );

    let exact = json(&env, &["assets", "list", "--dataset", &ds, "--all"]);
    assert_eq!(arr(&exact)[0]["filename"], hostile);
}
