//! End-to-end tests of `dtvi` as people use it from a shell (issue 22): its name, exit
//! codes through pipes, problems on stderr, nothing to upload, JSON errors, both id forms,
//! messages in the command line's words, colour and `-v`, upload asset ids and
//! replacements, completions, help examples and the delete confirmation. Each test runs
//! the real binary against a real emulator on 127.0.0.1; the terminal cases run it on a
//! real pseudo-terminal (util-linux `script`).

use std::io::Write as _;
use std::path::Path;
use std::process::{Command as StdCommand, Stdio};

use serde_json::Value;
use vi_testkit::{TestEnv, write_file};

use crate::common;

use common::{arr, create_dataset, human, images, json, json_with_code, process, s, vi};

const BIN: &str = env!("CARGO_BIN_EXE_dtvi");

/// Runs `script` so that `command` gets a pseudo-terminal; returns (exit code, output).
/// `input` is typed after a moment, once the command waits for it.
fn on_a_terminal(
    env: &TestEnv,
    command: &str,
    extra_env: &[(&str, &str)],
    input: &str,
) -> (i32, String) {
    let mut cmd = StdCommand::new("script");
    cmd.args(["-qefc", command, "/dev/null"])
        .env("DATATURE_VI_API_ENDPOINT", env.emulator.url())
        .env("DATATURE_VI_SECRET_KEY", env.emulator.secret_key())
        .env(
            "DATATURE_VI_ORGANIZATION_ID",
            env.emulator.organization_id(),
        )
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("script runs");
    let mut stdin = child.stdin.take().unwrap();
    if !input.is_empty() {
        // The prompt is written before the answer is read; the pty buffers what comes
        // early, so no wait is needed for correctness.
        stdin.write_all(input.as_bytes()).unwrap();
    }
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    (output.status.code().unwrap_or(-1), text)
}

/// Variables to set (`Some`) or remove (`None`) for one run.
type Vars<'a> = Vec<(&'a str, Option<&'a str>)>;

fn set_vars(cmd: &mut assert_cmd::Command, vars: &Vars<'_>) {
    for (name, value) in vars {
        match value {
            Some(v) => cmd.env(name, v),
            None => cmd.env_remove(name),
        };
    }
}

fn sh(command: &str) -> String {
    format!("'{}'", command.replace('\'', r"'\''"))
}

/// Point 1: the binary is `dtvi`, and no binary called `vi` is declared.
#[test]
fn the_binary_is_dtvi_and_no_vi_is_installed() {
    let bin = Path::new(BIN);
    assert_eq!(bin.file_name().unwrap(), "dtvi");
    let manifest =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let bins: Vec<&str> = manifest
        .split("[[bin]]")
        .skip(1)
        .filter_map(|section| section.lines().find(|l| l.trim_start().starts_with("name")))
        .collect();
    assert_eq!(bins, [r#"name = "dtvi""#], "{manifest}");
    let env = TestEnv::new();
    let (stdout, _) = human(&env, &["--help"], 0);
    assert!(stdout.contains("Usage: dtvi "), "{stdout}");
    assert!(!stdout.contains("Usage: vi "), "{stdout}");
    let (version, _) = human(&env, &["--version"], 0);
    assert!(version.starts_with("dtvi "), "{version}");
}

/// Point 2: `| true` and `| head -1` under pipefail keep the exit code 4.
#[test]
fn exit_codes_survive_a_closed_pipe() {
    let env = TestEnv::new();
    let ds = create_dataset(&env, "pipes");
    let dir = env.path("mixed");
    images(&dir, 2);
    write_file(&dir.join("broken.png"), b"not an image");
    let upload = format!(
        "{} assets upload --dataset {ds} {} | true",
        sh(BIN),
        sh(s(&dir))
    );
    let status = bash(&env, &upload);
    assert_eq!(status.0, 4, "{upload}: {}", status.1);

    // A download report of more than 64 KiB (the pipe's buffer) with one asset unknown.
    let long = env.path(&"d".repeat(120));
    for i in 0..200 {
        write_file(
            &long.join(format!("{}{i:03}.png", "n".repeat(100))),
            &vi_testkit::png(4, 4, i),
        );
    }
    json(&env, &["assets", "upload", "--dataset", &ds, s(&long)]);
    let listed = json(
        &env,
        &[
            "assets",
            "list",
            "--dataset",
            &ds,
            "--all",
            "--page-size",
            "500",
        ],
    );
    let to = env.path(&"t".repeat(100));
    let mut args = vec![
        "--json".to_owned(),
        "assets".into(),
        "download".into(),
        "--dataset".into(),
        ds.clone(),
        "--to".into(),
        s(&to).to_owned(),
        "--asset".into(),
        "nosuchasset".into(),
    ];
    for asset in arr(&listed) {
        args.push("--asset".into());
        args.push(asset["asset_id"].as_str().unwrap().to_owned());
    }
    let report = vi(&env).args(&args).output().unwrap();
    assert_eq!(report.status.code(), Some(4));
    assert!(
        report.stdout.len() > 64 * 1024,
        "{} bytes",
        report.stdout.len()
    );
    let line = std::iter::once(sh(BIN))
        .chain(args.iter().map(|a| sh(a)))
        .collect::<Vec<_>>()
        .join(" ");
    let head = bash(&env, &format!("{line} --overwrite | head -1"));
    assert_eq!(head.0, 4, "{}", head.1);
}

/// Runs `bash -o pipefail -c command` with the emulator's credentials.
fn bash(env: &TestEnv, command: &str) -> (i32, String) {
    let output = process(env, "bash")
        .args(["-o", "pipefail", "-c", command])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Point 3: with stdout going to a file, every skipped file is named on stderr.
#[test]
fn problems_go_to_stderr_when_stdout_is_a_file() {
    let env = TestEnv::new();
    let ds = create_dataset(&env, "problems");
    let dir = env.path("bad");
    write_file(&dir.join("empty.png"), b"");
    write_file(&dir.join("text.jpg"), b"plain text, not a picture");
    let log = std::fs::File::create(env.path("log")).unwrap();
    let output = process(&env, BIN)
        .args(["assets", "upload", "--dataset", &ds, s(&dir)])
        .stdout(log)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("empty.png") && stderr.contains("the file is empty"),
        "{stderr}"
    );
    assert!(
        stderr.contains("text.jpg") && stderr.contains("not a recognised"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: of 2 files, 2 skipped"),
        "{stderr}"
    );
    let logged = std::fs::read_to_string(env.path("log")).unwrap();
    assert!(logged.contains("Upload complete with problems"), "{logged}");
}

/// Point 4: an empty folder, or one without images, is a usage error naming the path and
/// what was looked for, in human and JSON output.
#[test]
fn nothing_to_upload_exits_2_naming_the_path() {
    let env = TestEnv::new();
    let ds = create_dataset(&env, "empty");
    let empty = env.path("empty-folder");
    std::fs::create_dir_all(&empty).unwrap();
    let (stdout, stderr) = human(&env, &["assets", "upload", "--dataset", &ds, s(&empty)], 2);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains(s(&empty)), "{stderr}");
    assert!(
        stderr.contains("no image or video files") && stderr.contains(".jpg"),
        "{stderr}"
    );

    let notes = env.path("notes");
    write_file(&notes.join("a.txt"), b"a");
    write_file(&notes.join("b.csv"), b"b");
    let report = json_with_code(&env, &["assets", "upload", "--dataset", &ds, s(&notes)], 2);
    let message = report["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(s(&notes)) && message.contains("2 other files"),
        "{report}"
    );
    assert_eq!(report["error"]["kind"], "usage");
}

/// Point 5: every failing command prints one JSON object on stdout with `--json`.
#[test]
fn json_errors_are_json_with_a_kind() {
    let env = TestEnv::new();
    let wrong_key = format!("dtvi_{}", "x".repeat(98));
    let ds = create_dataset(&env, "errors");
    let cases: Vec<(Vars, Vec<&str>, i32, &str)> = vec![
        (
            vec![("DATATURE_VI_SECRET_KEY", None)],
            vec!["datasets", "list"],
            3,
            "config",
        ),
        (
            vec![("DATATURE_VI_SECRET_KEY", Some(&wrong_key))],
            vec!["datasets", "list"],
            1,
            "authentication",
        ),
        (
            vec![],
            vec!["datasets", "get", "nosuchdataset"],
            5,
            "not_found",
        ),
        (
            vec![],
            vec!["assets", "upload", "--dataset", &ds, "/nonexistent/photos"],
            2,
            "usage",
        ),
        (
            vec![("DATATURE_VI_API_ENDPOINT", Some("http://127.0.0.1:1"))],
            vec!["datasets", "list"],
            1,
            "transport",
        ),
        (vec![], vec!["datasets", "list", "--bogus"], 2, "usage"),
    ];
    for (vars, args, code, kind) in cases {
        let mut cmd = vi(&env);
        set_vars(&mut cmd, &vars);
        let output = cmd.arg("--json").args(&args).output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(code), "{args:?}: {stdout}");
        let value: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {stdout}"));
        assert_eq!(value["error"]["kind"], kind, "{args:?}: {value}");
        assert_eq!(value["error"]["exit_code"], code, "{value}");
        assert!(
            value["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        // The person at the terminal still reads it on stderr.
        assert!(String::from_utf8_lossy(&output.stderr).contains("error: "));
    }
    let not_found = json_with_code(&env, &["datasets", "get", "nosuchdataset"], 5);
    assert_eq!(not_found["error"]["status"], 404);
}

/// Point 6: the `<org>_<id>` form is accepted wherever a dataset id is, and another
/// organization's is refused clearly.
#[test]
fn both_dataset_id_forms_are_accepted() {
    let env = TestEnv::new();
    let short = create_dataset(&env, "forms");
    let composite = format!("{}_{short}", env.emulator.organization_id());
    let dir = env.path("one");
    images(&dir, 1);
    let report = json(
        &env,
        &["assets", "upload", "--dataset", &composite, s(&dir)],
    );
    assert_eq!(report["dataset_id"], short.as_str());
    for args in [
        vec!["datasets", "get", &composite],
        vec!["assets", "list", "--dataset", &composite],
        vec!["assets", "count", "--dataset", &composite],
    ] {
        let value = json(&env, &args);
        assert!(
            !value.to_string().contains(&format!("{composite}_")),
            "{value}"
        );
    }
    let got = json(&env, &["datasets", "get", &composite]);
    assert_eq!(got["dataset_id"], short.as_str());
    let listed = json(&env, &["assets", "list", "--dataset", &composite]);
    assert_eq!(listed["items"][0]["dataset_id"], short.as_str());

    let other = format!("00000000-0000-4000-8000-000000000000_{short}");
    let (_, stderr) = human(&env, &["datasets", "get", &other], 2);
    assert!(
        stderr.contains("organization 00000000-0000-4000-8000-000000000000")
            && stderr.contains(env.emulator.organization_id()),
        "{stderr}"
    );
}

/// Point 7: configuration errors speak of flags and variables, never of the builder;
/// hints only where they help; a web page answering is reported short.
#[test]
fn messages_are_in_the_command_lines_words() {
    let env = TestEnv::new();
    let dir = env.path("cfg");
    let missing = dir.join("missing.json");
    let runs: Vec<(Vec<&str>, Vars)> = vec![
        (
            vec!["datasets", "list"],
            vec![("DATATURE_VI_SECRET_KEY", None)],
        ),
        (
            vec!["datasets", "list"],
            vec![("DATATURE_VI_ORGANIZATION_ID", None)],
        ),
        (vec!["--secret-key", "nope", "datasets", "list"], vec![]),
        (vec!["--organization-id", "a b", "datasets", "list"], vec![]),
        (vec!["--endpoint", "htps//typo", "datasets", "list"], vec![]),
        (
            vec!["--config-file", s(&missing), "datasets", "list"],
            vec![("DATATURE_VI_SECRET_KEY", None)],
        ),
        (
            vec!["--endpoint", "http://vi.example.com", "datasets", "list"],
            vec![],
        ),
    ];
    for (args, vars) in runs {
        let mut cmd = vi(&env);
        set_vars(&mut cmd, &vars);
        let output = cmd.args(&args).output().unwrap();
        assert_eq!(output.status.code(), Some(3), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("ConfigBuilder"), "{args:?}: {stderr}");
        assert!(!stderr.contains("  "), "stray spaces: {args:?}: {stderr}");
        assert!(!stderr.contains("hint:"), "{args:?}: {stderr}");
        if args.contains(&"htps//typo") {
            assert!(
                !stderr.contains("secret key"),
                "a credentials hint: {stderr}"
            );
        }
    }
    let (_, stderr) = human(
        &env,
        &["--endpoint", "http://vi.example.com", "datasets", "list"],
        3,
    );
    assert!(stderr.contains("--allow-http"), "{stderr}");
    let (_, stderr) = human(&env, &["--secret-key", "nope", "datasets", "list"], 3);
    assert!(stderr.contains("--secret-key"), "{stderr}");

    // A non-UTF-8 variable is named.
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt as _;
        let bad = std::ffi::OsStr::from_bytes(b"dtvi_\xff\xfe");
        let output = vi(&env)
            .env("DATATURE_VI_SECRET_KEY", bad)
            .args(["datasets", "list"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(3));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("DATATURE_VI_SECRET_KEY is not valid UTF-8"),
            "{stderr}"
        );
    }

    // The config file's endpoint is used, and an unknown key is warned about.
    let config = dir.join("vi.json");
    write_file(
        &config,
        format!(
            r#"{{"secret_key": "{}", "organization_id": "{}", "endpoint": "{}", "endpiont": "x"}}"#,
            env.emulator.secret_key(),
            env.emulator.organization_id(),
            env.emulator.url()
        )
        .as_bytes(),
    );
    let output = vi(&env)
        .env_remove("DATATURE_VI_API_ENDPOINT")
        .env_remove("DATATURE_VI_SECRET_KEY")
        .env_remove("DATATURE_VI_ORGANIZATION_ID")
        .args(["--config-file", s(&config), "datasets", "list"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("unknown keys (endpiont)"), "{stderr}");

    // A web server that is not the API: a short message, no page, no "check the id".
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", server.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in server.incoming().flatten().take(8) {
            answer_with_a_web_page(stream);
        }
    });
    let (_, stderr) = human(&env, &["--endpoint", &url, "datasets", "get", "abc"], 1);
    assert!(
        stderr.contains("HTML page, not a Vi API response"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("<html") && !stderr.contains("check the id"),
        "{stderr}"
    );
    assert!(stderr.len() < 400, "{stderr}");
}

fn answer_with_a_web_page(mut stream: std::net::TcpStream) {
    use std::io::{BufRead as _, BufReader};
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let body = format!(
        "<!DOCTYPE html><html><body>{}</body></html>",
        "Not here. ".repeat(300)
    );
    let _ = write!(
        stream,
        "HTTP/1.1 404 Not Found\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// Point 8: no escape byte in stderr written to a file (nor with `TERM=dumb` or
/// `NO_COLOR` on a terminal), colour on a terminal otherwise; `-v` names the endpoint and
/// the operation.
#[test]
fn colour_only_on_a_terminal_and_v_says_what_happens() {
    let env = TestEnv::new();
    let file = env.path("stderr.txt");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let status = process(&env, BIN)
        .args(["-vv", "datasets", "list"])
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&file).unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    let written = std::fs::read(&file).unwrap();
    assert!(!written.is_empty());
    assert!(
        !written.contains(&0x1b),
        "{}",
        String::from_utf8_lossy(&written)
    );

    let command = format!("{} -v datasets list", sh(BIN));
    let (code, tty) = on_a_terminal(&env, &command, &[], "");
    assert_eq!(code, 0, "{tty}");
    assert!(tty.contains('\u{1b}'), "a terminal gets colour: {tty}");
    for extra in [[("TERM", "dumb")], [("NO_COLOR", "1")]] {
        let (_, tty) = on_a_terminal(&env, &command, &extra, "");
        assert!(!tty.contains('\u{1b}'), "{extra:?}: {tty}");
    }
    let (_, tty) = on_a_terminal(
        &env,
        &format!("{} --color never -v datasets list", sh(BIN)),
        &[],
        "",
    );
    assert!(!tty.contains('\u{1b}'), "{tty}");

    let (_, stderr) = human(&env, &["-v", "datasets", "list"], 0);
    assert!(
        stderr.contains(env.emulator.url().trim_end_matches('/')),
        "{stderr}"
    );
    assert!(stderr.contains("datasets list"), "{stderr}");
}

/// Point 9: the upload report gives each new asset's id, counts and names the files that
/// replaced an asset, and a dry run says which names exist.
#[test]
fn uploads_give_asset_ids_and_count_replacements() {
    let env = TestEnv::new();
    let ds = create_dataset(&env, "ids");
    let dir = env.path("photos");
    let files = images(&dir, 3);
    let report = json(&env, &["assets", "upload", "--dataset", &ds, s(&dir)]);
    assert_eq!(report["replaced"], 0, "{report}");
    let listed = json(&env, &["assets", "list", "--dataset", &ds]);
    for file in arr(&report["succeeded"]) {
        let asset = arr(&listed["items"])
            .iter()
            .find(|a| a["filename"] == file["filename"])
            .unwrap();
        assert_eq!(file["asset_id"], asset["asset_id"], "{file}");
        assert!(file["replaced_asset_id"].is_null());
    }

    // Two of them again: both replace an asset, which the summary, stderr and JSON say.
    let (stdout, stderr) = human(
        &env,
        &[
            "assets",
            "upload",
            "--dataset",
            &ds,
            s(&files[0]),
            s(&files[1]),
        ],
        0,
    );
    let row = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("replaced"));
    assert!(row.is_some_and(|r| r.ends_with(" 2")), "{stdout}");
    assert!(
        stdout.contains("img0.png (was asset ") && stdout.contains("img1.png"),
        "{stdout}"
    );
    assert!(
        stderr.contains("note: 2 files replaced assets of the same name"),
        "{stderr}"
    );
    let again = json(&env, &["assets", "upload", "--dataset", &ds, s(&files[2])]);
    assert_eq!(again["replaced"], 1);
    assert!(
        again["succeeded"][0]["replaced_asset_id"].is_string(),
        "{again}"
    );
    assert!(again["succeeded"][0]["asset_id"].is_string(), "{again}");

    let (stdout, _) = human(
        &env,
        &["assets", "upload", "--dataset", &ds, "--dry-run", s(&dir)],
        0,
    );
    assert!(
        stdout.contains("send img0.png (") && stdout.contains("replacing asset"),
        "{stdout}"
    );
}

/// Point 10: completions, examples in the help, and the delete confirmation.
#[test]
fn completions_generate_for_bash_zsh_and_fish() {
    let env = TestEnv::new();
    for shell in ["bash", "zsh", "fish"] {
        let (script, _) = human(&env, &["completions", shell], 0);
        assert!(
            script.contains("dtvi") && script.contains("upload"),
            "{shell}: {script}"
        );
    }
    let bash_script = human(&env, &["completions", "bash"], 0).0;
    let check = StdCommand::new("bash")
        .args(["-n", "-c", &bash_script])
        .status()
        .unwrap();
    assert!(check.success(), "the bash script parses");
    for args in [
        vec!["--help"],
        vec!["assets", "upload", "--help"],
        vec!["assets", "download", "--help"],
        vec!["assets", "list", "--help"],
        vec!["datasets", "--help"],
    ] {
        let (help, _) = human(&env, &args, 0);
        assert!(help.contains("Examples:\n  dtvi "), "{args:?}: {help}");
    }
}

#[test]
fn datasets_delete_asks_on_a_terminal_and_needs_yes_in_scripts() {
    let env = TestEnv::new();
    let ds = create_dataset(&env, "keep me");
    // No terminal, no --yes: refused, kept.
    let (_, stderr) = human(&env, &["datasets", "delete", &ds], 2);
    assert!(stderr.contains("--yes"), "{stderr}");
    json(&env, &["datasets", "get", &ds]);
    // On a terminal: "n" keeps it, "y" deletes it.
    let command = format!("{} datasets delete {ds}", sh(BIN));
    let (code, tty) = on_a_terminal(&env, &command, &[], "n\n");
    assert_eq!(code, 130, "{tty}");
    assert!(tty.contains("keep me") && tty.contains("[y/N]"), "{tty}");
    json(&env, &["datasets", "get", &ds]);
    let (code, tty) = on_a_terminal(&env, &command, &[], "y\n");
    assert_eq!(code, 0, "{tty}");
    human(&env, &["datasets", "get", &ds], 5);
}
