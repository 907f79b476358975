//! End-to-end tests of the large-job options of `vi assets upload` / `download` against a
//! real emulator on 127.0.0.1, with real processes: several shards at once on one
//! dataset, `--shard auto` from scheduler variables, file lists and patterns, the
//! `--events` / `--report` JSON Lines files (also after a SIGKILL), and four shards
//! sharing an organization's session rate.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::Value;
use vi_core::select::Shard;
use vi_emulator::{EmulatorConfig, SessionLimit};
use vi_testkit::{TestEnv, png, write_file};

use crate::common;

use common::{arr, create_dataset, human, json, s, vi_process};

/// Writes `n` tiny distinct PNGs into `dirs` sub-folders of `root`; returns their names.
fn tiny_images(root: &Path, n: u32, dirs: u32) -> BTreeSet<String> {
    (0..n)
        .map(|i| {
            let name = format!("f{i:05}.png");
            write_file(
                &root.join(format!("d{}", i % dirs)).join(&name),
                &png(1 + i % 7, 1, i),
            );
            name
        })
        .collect()
}

/// The JSON lines of a file: every line complete and parsed.
fn lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "{path:?} ends mid-line"
    );
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{path:?}: {e}: {l}")))
        .collect()
}

/// The files a report names, by outcome; panics on a file named twice.
fn report_files(report: &[Value]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in report {
        let file = line["file"].as_str().expect("a file").to_owned();
        let outcome = line["outcome"].as_str().expect("an outcome").to_owned();
        assert!(
            out.insert(file.clone(), outcome).is_none(),
            "{file} reported twice"
        );
    }
    out
}

fn spawn(env: &TestEnv, args: &[String]) -> Child {
    vi_process(env)
        .arg("--quiet")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vi starts")
}

fn finish(child: Child, what: &str) {
    let out = child.wait_with_output().expect("vi ends");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

/// Runs one command per shard at once, each with `--shard K/N --report DIR/rK.jsonl`;
/// returns each shard's report.
fn run_shards(env: &TestEnv, base: &[&str], shards: u32, tag: &str) -> Vec<Vec<Value>> {
    let reports: Vec<PathBuf> = (0..shards)
        .map(|k| env.path(&format!("{tag}{k}.jsonl")))
        .collect();
    let children: Vec<Child> = (0..shards)
        .map(|k| {
            let mut args = strings(base);
            args.extend(strings(&["--shard", &format!("{k}/{shards}"), "--report"]));
            args.push(s(&reports[k as usize]).to_owned());
            spawn(env, &args)
        })
        .collect();
    for (k, child) in children.into_iter().enumerate() {
        finish(child, &format!("{tag} shard {k}"));
    }
    reports.iter().map(|r| lines(r)).collect()
}

/// Every report names only its shard's files, and together they name `all`, once each,
/// all with `outcome`.
fn check_shard_reports(reports: &[Vec<Value>], all: &BTreeSet<String>, outcome: &str) {
    let n = reports.len() as u32;
    let mut seen = BTreeSet::new();
    for (k, report) in reports.iter().enumerate() {
        let shard = Shard::new(k as u32, n).unwrap();
        let files = report_files(report);
        assert!(!files.is_empty(), "shard {k} did nothing");
        for (file, got) in files {
            assert!(shard.contains(&file), "{file} is not shard {k}'s");
            assert_eq!(got, outcome, "{file} in shard {k}");
            assert!(seen.insert(file.clone()), "{file} in two shards");
        }
    }
    assert_eq!(&seen, all);
}

fn dataset_names(env: &TestEnv, ds: &str) -> Vec<String> {
    let listed = json(
        env,
        &[
            "assets",
            "list",
            "--dataset",
            ds,
            "--all",
            "--page-size",
            "1000",
        ],
    );
    arr(&listed)
        .iter()
        .map(|a| a["filename"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn four_shards_upload_and_download_a_20000_file_folder_once() {
    let env = TestEnv::new();
    let ds = create_dataset(&env, "shards");
    let dir = env.path("up");
    let all = tiny_images(&dir, 20_000, 20);

    let up = ["assets", "upload", "--dataset", &ds, s(&dir)];
    let reports = run_shards(&env, &up, 4, "up");
    check_shard_reports(&reports, &all, "uploaded");
    let mut names = dataset_names(&env, &ds);
    assert_eq!(names.len(), 20_000);
    names.sort();
    names.dedup();
    assert_eq!(names.into_iter().collect::<BTreeSet<_>>(), all);

    // A rerun of one shard with --skip-existing sends nothing.
    let puts = env.emulator.stats().upload_requests;
    let again = env.path("again.jsonl");
    let child = spawn(
        &env,
        &strings(
            &[
                &up[..],
                &["--shard", "2/4", "--skip-existing", "--report", s(&again)],
            ]
            .concat(),
        ),
    );
    finish(child, "rerun of shard 2");
    assert_eq!(
        env.emulator.stats().upload_requests,
        puts,
        "the rerun sent files"
    );
    let rerun = report_files(&lines(&again));
    assert_eq!(rerun.len(), report_files(&reports[2]).len());
    assert!(rerun.values().all(|o| o == "skipped"), "{rerun:?}");
    assert_eq!(dataset_names(&env, &ds).len(), 20_000);

    // The same for a download into one folder.
    let to = env.path("down");
    let down = ["assets", "download", "--dataset", &ds, "--to", s(&to)];
    let reports = run_shards(&env, &down, 4, "down");
    check_shard_reports(&reports, &all, "downloaded");
    let to = to.join(&ds);
    let on_disk: BTreeSet<String> = std::fs::read_dir(&to)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != vi_core::download::PARTIAL_DIR)
        .collect();
    assert_eq!(on_disk, all);
    let sample = all.iter().next().unwrap();
    let source = dir.join("d0").join(sample);
    assert_eq!(
        std::fs::read(to.join(sample)).unwrap(),
        std::fs::read(source).unwrap()
    );
}

/// The files a dry run of `args` would send, with extra environment variables.
fn planned(env: &TestEnv, args: &[&str], vars: &[(&str, &str)]) -> BTreeSet<String> {
    let mut cmd = vi_process(env);
    cmd.arg("--json").args(args).arg("--dry-run");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("vi runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    arr(&report["planned"])
        .iter()
        .map(|p| p["filename"].as_str().unwrap().to_owned())
        .collect()
}

fn in_shard(all: &BTreeSet<String>, k: u32, n: u32) -> BTreeSet<String> {
    let shard = Shard::new(k, n).unwrap();
    all.iter().filter(|f| shard.contains(f)).cloned().collect()
}

#[test]
fn shard_auto_reads_slurm_and_kubernetes_variables() {
    let env = TestEnv::new();
    let ds = create_dataset(&env, "auto");
    let dir = env.path("up");
    let all = tiny_images(&dir, 60, 3);
    let up = [
        "assets",
        "upload",
        "--dataset",
        &ds,
        s(&dir),
        "--shard",
        "auto",
    ];

    let slurm = [
        ("SLURM_ARRAY_TASK_ID", "11"),
        ("SLURM_ARRAY_TASK_MIN", "10"),
        ("SLURM_ARRAY_TASK_COUNT", "3"),
    ];
    assert_eq!(planned(&env, &up, &slurm), in_shard(&all, 1, 3));
    let k8s = [("JOB_COMPLETION_INDEX", "2"), ("VI_SHARD_COUNT", "4")];
    assert_eq!(planned(&env, &up, &k8s), in_shard(&all, 2, 4));
    let with_count = [&up[..], &["--shard-count", "3"]].concat();
    assert_eq!(
        planned(&env, &with_count, &[("JOB_COMPLETION_INDEX", "0")]),
        in_shard(&all, 0, 3)
    );
    // Together the shards of a job cover everything once.
    let union: BTreeSet<String> = (0..3)
        .flat_map(|i| {
            let index = i.to_string();
            planned(
                &env,
                &with_count,
                &[("JOB_COMPLETION_INDEX", index.as_str())],
            )
        })
        .collect();
    assert_eq!(union, all);

    // No scheduler: exit 2 naming the variables; a count missing: naming what to give.
    let (_, err) = human(&env, &up, 2);
    assert!(
        err.contains("SLURM_ARRAY_TASK_ID") && err.contains("JOB_COMPLETION_INDEX"),
        "{err}"
    );
    let out = vi_process(&env)
        .args(up)
        .env("JOB_COMPLETION_INDEX", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--shard-count"));
    for bad in ["4/4", "x", "1/0"] {
        let (_, err) = human(
            &env,
            &[
                "assets",
                "upload",
                "--dataset",
                &ds,
                s(&dir),
                "--shard",
                bad,
            ],
            2,
        );
        assert!(err.contains("shard"), "{bad}: {err}");
    }
}

#[test]
fn files_from_and_patterns_choose_what_is_uploaded() {
    let env = TestEnv::new();
    let ds = create_dataset(&env, "lists");
    let dir = env.path("up");
    for (i, rel) in [
        "a/cat1.png",
        "a/dog1.png",
        "b/cat2.png",
        "b/sub/cat3.png",
        "b/dog2.png",
        "tmp/cat4.png",
    ]
    .iter()
    .enumerate()
    {
        write_file(&dir.join(rel), &png(2 + i as u32, 2, i as u32));
    }
    let set = |names: &[&str]| {
        names
            .iter()
            .map(|n| (*n).to_owned())
            .collect::<BTreeSet<_>>()
    };
    let up = ["assets", "upload", "--dataset", &ds, s(&dir)];

    let cats = [&up[..], &["--include", "cat*"]].concat();
    assert_eq!(
        planned(&env, &cats, &[]),
        set(&["cat1.png", "cat2.png", "cat3.png", "cat4.png"])
    );
    let no_tmp = [&up[..], &["--include", "cat*", "--exclude", "tmp/**"]].concat();
    assert_eq!(
        planned(&env, &no_tmp, &[]),
        set(&["cat1.png", "cat2.png", "cat3.png"])
    );
    let b_top = [&up[..], &["--include", "b/*.png"]].concat();
    assert_eq!(planned(&env, &b_top, &[]), set(&["cat2.png", "dog2.png"]));
    let b_all = [&up[..], &["--include", "b/**"]].concat();
    assert_eq!(
        planned(&env, &b_all, &[]),
        set(&["cat2.png", "cat3.png", "dog2.png"])
    );

    // A newline list of paths relative to the working folder, with a pattern on top.
    let list = env.path("list.txt");
    std::fs::write(&list, "a/cat1.png\r\n./b/dog2.png\n\nb/sub/cat3.png\n").unwrap();
    let from = |extra: &[&str]| -> Vec<String> {
        let mut args = strings(&[
            "assets",
            "upload",
            "--dataset",
            &ds,
            "--files-from",
            s(&list),
        ]);
        args.extend(strings(extra));
        args
    };
    let mut cmd = vi_process(&env);
    cmd.current_dir(&dir)
        .arg("--json")
        .args(from(&["--exclude", "dog*", "--dry-run"]));
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let got: BTreeSet<String> = arr(&report["planned"])
        .iter()
        .map(|p| p["filename"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, set(&["cat1.png", "cat3.png"]));

    // A NUL-separated list on standard input, uploaded for real.
    let mut child = vi_process(&env)
        .current_dir(&dir)
        .args([
            "--json",
            "assets",
            "upload",
            "--dataset",
            &ds,
            "--files-from",
            "-",
            "--null",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a/dog1.png\0tmp/cat4.png\0")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names = dataset_names(&env, &ds);
    names.sort();
    assert_eq!(names, vec!["cat4.png", "dog1.png"]);

    // A pattern that matches nothing is a usage error with a clear message.
    let (_, err) = human(&env, &[&up[..], &["--include", "*.jpeg"]].concat(), 2);
    assert!(
        err.contains("no file matched") && err.contains("*.jpeg"),
        "{err}"
    );
    // So is a list naming a file that does not exist, and a malformed pattern.
    std::fs::write(&list, "nope.png\n").unwrap();
    let args = from(&[]);
    let (_, err) = human(
        &env,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        2,
    );
    assert!(err.contains("nope.png"), "{err}");
    let (_, err) = human(&env, &[&up[..], &["--include", "a{b"]].concat(), 2);
    assert!(err.contains("a{b"), "{err}");
}

#[test]
fn files_from_and_patterns_choose_what_is_downloaded() {
    let env = TestEnv::new();
    let ds = create_dataset(&env, "down lists");
    let dir = env.path("up");
    let all = tiny_images(&dir, 12, 1);
    json(&env, &["assets", "upload", "--dataset", &ds, s(&dir)]);
    // A download lands in a folder named after the dataset.
    let downloaded = |to: &Path| -> BTreeSet<String> {
        std::fs::read_dir(to.join(&ds))
            .map(|d| {
                d.map(|e| e.unwrap().file_name().into_string().unwrap())
                    .filter(|n| n != vi_core::download::PARTIAL_DIR)
                    .collect()
            })
            .unwrap_or_default()
    };
    let down = |to: &Path, extra: &[&str], code: i32| {
        let args = [
            &[
                "assets",
                "download",
                "--dataset",
                ds.as_str(),
                "--to",
                s(to),
            ][..],
            extra,
        ]
        .concat();
        human(&env, &args, code)
    };

    let to = env.path("globs");
    down(&to, &["--include", "f0000?.png", "--exclude", "*3.png"], 0);
    let want: BTreeSet<String> = (0..10)
        .filter(|i| *i != 3)
        .map(|i| format!("f{i:05}.png"))
        .collect();
    assert_eq!(downloaded(&to), want);

    let list = env.path("names.txt");
    std::fs::write(&list, "f00001.png\nf00011.png\n").unwrap();
    let to = env.path("listed");
    down(&to, &["--files-from", s(&list)], 0);
    assert_eq!(
        downloaded(&to),
        ["f00001.png", "f00011.png"].map(String::from).into()
    );

    std::fs::write(&list, "f00002.png\0f00010.png\0").unwrap();
    let to = env.path("nul");
    down(&to, &["--files-from", s(&list), "--null"], 0);
    assert_eq!(
        downloaded(&to),
        ["f00002.png", "f00010.png"].map(String::from).into()
    );

    // A listed name the dataset does not hold is reported (exit 4), the rest downloaded.
    std::fs::write(&list, "f00004.png\nmissing.png\n").unwrap();
    let to = env.path("missing");
    let (stdout, stderr) = down(&to, &["--files-from", s(&list)], 4);
    assert!(
        format!("{stdout}{stderr}").contains("missing.png"),
        "{stdout}{stderr}"
    );
    assert_eq!(downloaded(&to), ["f00004.png"].map(String::from).into());

    let to = env.path("none");
    let (_, err) = down(&to, &["--include", "*.jpg"], 2);
    assert!(
        err.contains("no asset matched") && err.contains("*.jpg"),
        "{err}"
    );
    assert!(downloaded(&to).is_empty());
    assert_eq!(all.len(), 12);
}

#[test]
fn events_and_report_lines_are_json_and_survive_a_kill() {
    let env = TestEnv::with(EmulatorConfig {
        // Slow enough to kill the download midway.
        latency: Duration::from_millis(40),
        ..EmulatorConfig::default()
    });
    let ds = create_dataset(&env, "events");
    let dir = env.path("up");
    let all = tiny_images(&dir, 400, 4);
    let events = env.path("up-events.jsonl");
    let report = env.path("up-report.jsonl");
    human(
        &env,
        &[
            "assets",
            "upload",
            "--dataset",
            &ds,
            s(&dir),
            "--events",
            s(&events),
            "--report",
            s(&report),
        ],
        0,
    );
    let files = report_files(&lines(&report));
    assert_eq!(files.keys().cloned().collect::<BTreeSet<_>>(), all);
    let events = lines(&events);
    let kinds: BTreeSet<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for kind in [
        "planned",
        "session_created",
        "started",
        "finished",
        "waiting",
    ] {
        assert!(kinds.contains(kind), "no {kind} event in {kinds:?}");
    }
    assert!(events.iter().all(|e| e["t"].is_f64()));

    // A download killed midway: every line written so far is whole.
    let to = env.path("down");
    let report = env.path("down-report.jsonl");
    let mut child = spawn(
        &env,
        &strings(&[
            "assets",
            "download",
            "--dataset",
            &ds,
            "--to",
            s(&to),
            "--concurrency",
            "2",
            "--report",
            s(&report),
            "--events",
            "-",
        ]),
    );
    let mut waited = 0;
    while lines(&report).len() < 20 {
        assert!(waited < 1200, "the download wrote no report lines");
        std::thread::sleep(Duration::from_millis(50));
        waited += 1;
    }
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&out.status),
        Some(9)
    );
    let before = report_files(&lines(&report));
    assert!(
        before.len() < all.len(),
        "the download finished before the kill"
    );
    assert!(before.values().all(|o| o == "downloaded"));
    // The events went to standard error, one JSON object per line (the last may be cut).
    let stderr = String::from_utf8_lossy(&out.stderr);
    let complete: Vec<&str> = stderr.lines().filter(|l| l.ends_with('}')).collect();
    assert!(complete.len() >= 20);
    for line in complete {
        let _: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }

    // Run again: every asset in the new report exactly once, the killed run's as skipped.
    let again = env.path("again.jsonl");
    human(
        &env,
        &[
            "assets",
            "download",
            "--dataset",
            &ds,
            "--to",
            s(&to),
            "--report",
            s(&again),
        ],
        0,
    );
    let after = report_files(&lines(&again));
    assert_eq!(after.keys().cloned().collect::<BTreeSet<_>>(), all);
    for (file, outcome) in &after {
        if before.contains_key(file) {
            assert_eq!(outcome, "skipped", "{file}");
        }
    }
}

#[test]
fn four_shards_share_a_session_rate_and_all_succeed() {
    let env = TestEnv::with(EmulatorConfig {
        session_limit: Some(SessionLimit {
            sessions: 5,
            window: Duration::from_secs(20),
        }),
        ..EmulatorConfig::default()
    });
    let ds = create_dataset(&env, "rate");
    let dir = env.path("up");
    let all = tiny_images(&dir, 12_000, 12);
    // 1000 files per session: 12 sessions, more than two windows' worth.
    let up = [
        "assets",
        "upload",
        "--dataset",
        &ds,
        s(&dir),
        "--batch-size",
        "1000",
    ];
    let reports = run_shards(&env, &up, 4, "rate");
    check_shard_reports(&reports, &all, "uploaded");
    let sessions: BTreeSet<&str> = reports
        .iter()
        .flatten()
        .map(|l| l["session_id"].as_str().unwrap())
        .collect();
    // No session opened and left unused: each shard needs ceil(its files / 1000).
    let needed: usize = reports.iter().map(|r| r.len().div_ceil(1000)).sum();
    assert_eq!(sessions.len(), needed);
    assert_eq!(dataset_names(&env, &ds).len(), 12_000);
}
