//! `cargo xtask --help` and `cargo xtask COMMAND --help` answer with the usage and exit 0,
//! and an unknown command or a bad option exits 2. The commands forwarded to vi-harness
//! pass `--help` on: their options are checked by the tests of `tools/harness/src/main.rs`
//! (running them here would build the SDK inside this test).

use std::process::{Command, Output};

/// xtask's own commands.
const OWN: [&str; 3] = ["deps-guard", "codegen", "release"];

/// The commands run by vi-harness.
const FORWARDED: [&str; 4] = ["api-fuzz", "bench", "interop", "soak"];

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .expect("xtask runs")
}

#[test]
fn every_command_answers_help() {
    let top = xtask(&["--help"]);
    let text = String::from_utf8_lossy(&top.stdout);
    assert_eq!(top.status.code(), Some(0), "{text}");
    for command in OWN.iter().chain(&FORWARDED) {
        assert!(text.contains(command), "{command} missing from:\n{text}");
    }
    for command in OWN {
        for help in ["--help", "-h"] {
            let out = xtask(&[command, help]);
            let text = String::from_utf8_lossy(&out.stdout);
            assert_eq!(out.status.code(), Some(0), "{command} {help}: {text}");
            assert!(text.contains("Usage"), "{command} {help}: {text}");
        }
    }
    assert!(String::from_utf8_lossy(&xtask(&["release", "--help"]).stdout).contains("VERSION"));
    for bad in [
        &["no-such-command"][..],
        &["release"],
        &["release", "v0.2.0"],
        &["codegen", "--check", "--validate"],
        &["deps-guard", "--fast"],
    ] {
        let out = xtask(bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(!out.stderr.is_empty(), "{bad:?}");
    }
}
