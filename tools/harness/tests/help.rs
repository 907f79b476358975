//! Every vi-harness command (the ones `cargo xtask` forwards and the two internal ones)
//! answers `--help` with its usage and exits 0; a bad option exits 2 and names it.

use std::process::{Command, Output};

fn harness(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vi-harness"))
        .args(args)
        .output()
        .expect("vi-harness runs")
}

#[test]
fn every_command_answers_help() {
    let public = ["api-fuzz", "bench", "interop", "soak"];
    let top = String::from_utf8_lossy(&harness(&["--help"]).stdout).into_owned();
    for command in public {
        assert!(top.contains(command), "{command} missing from:\n{top}");
    }
    for command in public.into_iter().chain(["soak-client", "interop-rust"]) {
        for help in ["--help", "-h"] {
            let out = harness(&[command, help]);
            let text = String::from_utf8_lossy(&out.stdout);
            assert_eq!(out.status.code(), Some(0), "{command} {help}: {text}");
            assert!(text.contains("Usage"), "{command} {help}: {text}");
        }
    }
    let bench = String::from_utf8_lossy(&harness(&["bench", "--help"]).stdout).into_owned();
    assert!(bench.contains("--present-percent"), "{bench}");
    assert_eq!(
        harness(&["bench", "--files", "10", "--help"]).status.code(),
        Some(0)
    );
    for bad in [
        &["bench", "--latency-ms"][..],
        &["bench", "--resume", "--suite"],
        &["soak", "--expired-status", "401"],
        &["api-fuzz", "--max-examples", "many"],
    ] {
        let out = harness(bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(!out.stderr.is_empty(), "{bad:?}");
    }
}
