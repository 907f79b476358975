//! `cargo xtask --help` and `cargo xtask COMMAND --help` answer with the usage and exit 0,
//! for every command (internal ones included), and an unknown command exits 2.

use std::process::Command;

/// The commands `cargo xtask --help` lists.
const PUBLIC: [&str; 7] = [
    "deps-guard",
    "interop",
    "codegen",
    "api-fuzz",
    "bench",
    "release",
    "soak",
];

/// The commands run by others as child processes (not listed, but they answer too).
const INTERNAL: [&str; 2] = ["soak-client", "interop-rust"];

fn xtask(args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .expect("xtask runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn every_command_answers_help() {
    let (code, top) = xtask(&["--help"]);
    assert_eq!(code, Some(0), "{top}");
    for command in PUBLIC {
        assert!(top.contains(command), "{command} missing from:\n{top}");
    }
    for command in PUBLIC.into_iter().chain(INTERNAL) {
        for help in ["--help", "-h"] {
            let (code, text) = xtask(&[command, help]);
            assert_eq!(code, Some(0), "{command} {help}: {text}");
            assert!(text.contains("Usage"), "{command} {help}: {text}");
        }
    }
    let (code, text) = xtask(&["bench", "--help"]);
    assert_eq!(code, Some(0));
    assert!(text.contains("--present-percent"), "{text}");
    let (code, _) = xtask(&["no-such-command"]);
    assert_eq!(code, Some(2));
    // --help after other options too, and a bad option is a usage error naming it.
    assert_eq!(xtask(&["bench", "--files", "10", "--help"]).0, Some(0));
    for bad in [
        &["bench", "--latency-ms"][..],
        &["bench", "--resume", "--suite"],
        &["soak", "--expired-status", "401"],
        &["release"],
        &["codegen", "--check", "--validate"],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(bad)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{bad:?}");
        assert!(!output.stderr.is_empty(), "{bad:?}");
    }
}
