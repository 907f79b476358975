//! `cargo xtask api-fuzz [--max-examples N] [--max-time SECS] [--seed N] [--all-checks]`:
//! Schemathesis against a local vi-emulator, from `api/vi.openapi.yaml`.
//!
//! 1. Prepares `target/api-venv` with the tools pinned in `api/requirements.txt` (the
//!    environment `cargo xtask codegen --validate` uses, which checks the document
//!    itself; CI runs it first). When PyPI cannot be reached the run fails and says so.
//! 2. Starts a vi-emulator in this process with one seeded dataset, so generated requests
//!    reach real resources: the `org` and `dsc` path parameters are pinned to the
//!    emulator's organization and that dataset (everything else is generated).
//! 3. Runs `schemathesis run` (examples, coverage, fuzzing and stateful phases) with the
//!    checks of [`CHECKS`]: no 5xx, every status documented, every body and header within
//!    its schema.
//!
//! What the first runs found and what was fixed is listed in `docs/api-fuzz.md`.

use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Instant;

use vi_emulator::Emulator;

use crate::{repo_root, target_dir};

/// The OpenAPI document, relative to the repository's root.
const DOCUMENT: &str = "api/vi.openapi.yaml";

/// What must hold for every response: no 5xx, a documented status, a body and headers
/// within the schema, the documented content type. (Schemathesis's data-acceptance
/// checks are left out: they flag the emulator's deliberate strictness and leniency on
/// points the specification leaves open; see `docs/api-fuzz.md`.)
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
response_schema_conformance,response_headers_conformance";

/// The options of `cargo xtask api-fuzz`.
#[derive(clap::Args, Debug)]
pub struct Options {
    /// Run every Schemathesis check, data acceptance included (exploration, not CI).
    #[arg(long)]
    all_checks: bool,
    /// Examples generated per operation.
    #[arg(long, value_name = "N", default_value_t = 25)]
    max_examples: u32,
    /// Stop generating after this many seconds.
    #[arg(long, value_name = "SECS")]
    max_time: Option<u32>,
    /// The random seed, so a run can be repeated.
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,
}

/// Entry point of `cargo xtask api-fuzz`.
pub fn main(options: &Options) -> ExitCode {
    match run(options) {
        Ok(()) => {
            println!("api-fuzz: PASS");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("api-fuzz: FAILED: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(options: &Options) -> Result<(), String> {
    let started = Instant::now();
    let root = repo_root();
    let python = crate::pyenv::prepare_pinned(
        &target_dir(&root).join("api-venv"),
        &root.join("api").join("requirements.txt"),
        "the OpenAPI tools of api/requirements.txt",
    )?;
    let out = target_dir(&root).join("api-fuzz");
    if out.exists() {
        std::fs::remove_dir_all(&out)
            .map_err(|e| format!("cannot clean {}: {e}", out.display()))?;
    }
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;

    let emulator = Emulator::start().map_err(|e| format!("cannot start vi-emulator: {e}"))?;
    let result = fuzz(&python, &root, &out, &emulator, options);
    emulator.shutdown();
    println!("api-fuzz: {:.1}s in all", started.elapsed().as_secs_f64());
    result
}

fn fuzz(
    python: &Path,
    root: &Path,
    out: &Path,
    emulator: &Emulator,
    options: &Options,
) -> Result<(), String> {
    let dataset = emulator
        .seed_assets("fuzz", 3)
        .map_err(|e| format!("cannot seed the emulator: {e}"))?;
    let config = out.join("schemathesis.toml");
    // TOML basic strings: the values are ids and a generated key (no quotes or escapes).
    let text = format!(
        "# Written by cargo xtask api-fuzz for one run.\n[parameters]\n\"path.org\" = \"{}\"\n\"path.dsc\" = \"{dataset}\"\n",
        emulator.organization_id()
    );
    std::fs::write(&config, text).map_err(|e| format!("cannot write {}: {e}", config.display()))?;
    println!(
        "\n== api-fuzz: Schemathesis against vi-emulator at {} (max {} examples per operation, seed {}) ==",
        emulator.url(),
        options.max_examples,
        options.seed
    );
    let mut cmd = Command::new(python);
    // Schemathesis keeps a cache (`.schemathesis/`) in its working folder: under target/.
    cmd.current_dir(out)
        .args(["-m", "schemathesis.cli", "--config-file"])
        .arg(&config)
        .arg("run")
        .arg(root.join(DOCUMENT))
        .args(["--url", emulator.url().trim_end_matches('/')])
        .args(["--checks", if options.all_checks { "all" } else { CHECKS }])
        .args(["--max-examples", &options.max_examples.to_string()])
        .args(["--seed", &options.seed.to_string()])
        .args(["--workers", "1"])
        // Deleting the seeded dataset would leave every later operation nothing to reach
        // (the dataset calls are covered by the conformance test of vi-emulator).
        .args(["--exclude-operation-id", "deleteDataset"])
        .args(["--request-timeout", "10"])
        .arg("-H")
        .arg(format!("Authorization: Bearer {}", emulator.secret_key()))
        .arg("-H")
        .arg(format!("Organization-Id: {}", emulator.organization_id()))
        .arg("--report")
        .arg("junit")
        .arg("--report-dir")
        .arg(out)
        .env("SCHEMATHESIS_HOOKS", "")
        .env("NO_COLOR", "1");
    if let Some(secs) = options.max_time {
        cmd.args(["--max-time", &secs.to_string()]);
    }
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run schemathesis: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "Schemathesis found problems ({status}); the emulator and {DOCUMENT} disagree (report in {})",
            out.display()
        ))
    }
}
