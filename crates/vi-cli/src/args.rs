//! The command line: every command, option and its help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Examples:
  dtvi emulator                                  a local Vi API; prints the variables to export
  dtvi datasets create \"Drone survey\"
  dtvi assets upload --dataset DATASET ./images
  dtvi --json assets list --dataset DATASET --all
  dtvi completions bash > ~/.local/share/bash-completion/completions/dtvi

Exit codes:
  0    everything succeeded
  1    the operation failed (API or network error)
  2    usage error (unknown flag, missing or invalid argument, nothing to upload)
  3    configuration error (missing or malformed credentials, endpoint or config file)
  4    finished, but some files failed, were skipped (other than those already in the
       dataset with --skip-existing) or are still processing
  5    not found (unknown dataset or asset)
  130  cancelled by Ctrl-C (or declined at a confirmation prompt)

Credentials: --secret-key / DATATURE_VI_SECRET_KEY and --organization-id /
DATATURE_VI_ORGANIZATION_ID, or a JSON --config-file with \"secret_key\",
\"organization_id\" and optionally \"endpoint\". Try it offline: `dtvi emulator`.

Output: results on stdout; progress, warnings and problems on stderr. --json prints one
JSON document per command on stdout, errors included ({\"error\": {\"kind\", \"status\",
\"message\", \"exit_code\"}}); field names are snake_case everywhere.";

/// The Datature Vi command line: datasets and assets from your shell.
#[derive(Debug, Parser)]
#[command(name = "dtvi", version, after_help = EXIT_CODES, propagate_version = true)]
pub struct Cli {
    /// Options every command accepts.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts, before or after the command name.
///
/// Its `Debug` never shows the secret key.
#[derive(Args)]
pub struct Global {
    /// API endpoint.
    #[arg(
        long,
        help = "API endpoint (default https://api.vi.datature.com/)",
        global = true,
        help_heading = "Global options",
        env = "DATATURE_VI_API_ENDPOINT",
        value_name = "URL"
    )]
    pub endpoint: Option<String>,
    /// Secret key (dtvi_…). Prefer the environment variable: arguments show in `ps`.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "DATATURE_VI_SECRET_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub secret_key: Option<String>,
    /// Organization id.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "DATATURE_VI_ORGANIZATION_ID",
        value_name = "ID"
    )]
    pub organization_id: Option<String>,
    /// JSON file with "secret_key" and "organization_id", used for values not given
    /// otherwise.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "PATH"
    )]
    pub config_file: Option<PathBuf>,
    /// Allow a plain-http endpoint on another host (the secret key then crosses the
    /// network unencrypted). Loopback endpoints, such as a local emulator, need no flag.
    #[arg(long, global = true, help_heading = "Global options")]
    pub allow_http: bool,
    /// Print machine-readable JSON on stdout.
    #[arg(long, global = true, help_heading = "Global options")]
    pub json: bool,
    /// No progress bars, hints or summaries of successful transfers.
    #[arg(long, short = 'q', global = true, help_heading = "Global options")]
    pub quiet: bool,
    /// Log what happens to stderr (-v info, -vv debug, -vvv trace).
    #[arg(long, short = 'v', global = true, help_heading = "Global options", action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// When to colour stderr: auto (only on a terminal, never with NO_COLOR set or
    /// TERM=dumb), always or never.
    #[arg(long, global = true, help_heading = "Global options", value_enum, default_value_t = ColorArg::Auto, value_name = "WHEN")]
    pub color: ColorArg,
    /// Which of endpoint, secret key and organization id clap read from the environment
    /// (those are left to the SDK, which then names the right source in its errors).
    #[arg(skip)]
    pub from_env: FromEnv,
}

impl std::fmt::Debug for Global {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Global")
            .field("endpoint", &self.endpoint)
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "dtvi_…(redacted)"),
            )
            .field("organization_id", &self.organization_id)
            .field("config_file", &self.config_file)
            .field("allow_http", &self.allow_http)
            .field("json", &self.json)
            .field("quiet", &self.quiet)
            .field("verbose", &self.verbose)
            .field("color", &self.color)
            .field("from_env", &self.from_env)
            .finish()
    }
}

/// When stderr gets colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// Only on a terminal, and not with `NO_COLOR` set or `TERM=dumb`.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Which global values came from environment variables rather than arguments.
#[derive(Debug, Default, Clone, Copy)]
pub struct FromEnv {
    /// `DATATURE_VI_API_ENDPOINT`.
    pub endpoint: bool,
    /// `DATATURE_VI_SECRET_KEY`.
    pub secret_key: bool,
    /// `DATATURE_VI_ORGANIZATION_ID`.
    pub organization_id: bool,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List, inspect, create and delete datasets.
    #[command(after_help = DATASETS_EXAMPLES)]
    Datasets {
        /// The dataset command.
        #[command(subcommand)]
        command: DatasetsCommand,
    },
    /// Upload, list, count, inspect, download, rename and delete assets.
    #[command(after_help = ASSETS_EXAMPLES)]
    Assets {
        /// The asset command.
        #[command(subcommand)]
        command: AssetsCommand,
    },
    /// Import annotation files into a dataset; list an asset's annotations.
    Annotations {
        /// The annotations command.
        #[command(subcommand)]
        command: crate::annotations::AnnotationsCommand,
    },
    /// List, inspect, wait for and cancel a dataset's ingestion sessions.
    Sessions {
        /// The sessions command.
        #[command(subcommand)]
        command: crate::sessions::SessionsCommand,
    },
    /// Run the local Vi API emulator in the foreground (Ctrl-C stops it).
    ///
    /// The first line on stdout is `listening on http://HOST:PORT`; the next lines give
    /// the credentials to export. --secret-key and --organization-id set the credentials
    /// clients must present (default: persisted in --data-dir, or generated).
    Emulator(EmulatorArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish or powershell).
    ///
    /// bash: `dtvi completions bash > ~/.local/share/bash-completion/completions/dtvi`;
    /// zsh: `dtvi completions zsh > ~/.zfunc/_dtvi` (with `~/.zfunc` in `fpath`);
    /// fish: `dtvi completions fish > ~/.config/fish/completions/dtvi.fish`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

const DATASETS_EXAMPLES: &str = "\
Examples:
  dtvi datasets list --all
  dtvi datasets create \"Drone survey\" --type vqa
  dtvi datasets get DATASET
  dtvi datasets delete DATASET --yes --wait";

const ASSETS_EXAMPLES: &str = "\
Examples:
  dtvi assets upload --dataset DATASET ./images
  dtvi assets upload --dataset DATASET ./images --skip-existing --dry-run
  dtvi assets list --dataset DATASET --sort size --desc
  dtvi assets download --dataset DATASET --to ./downloads
  dtvi assets get --dataset DATASET ASSET --url";

const UPLOAD_EXAMPLES: &str = "\
Examples:
  dtvi assets upload --dataset DATASET ./images            every image and video, recursively
  dtvi assets upload --dataset DATASET a.jpg b.png
  dtvi assets upload --dataset DATASET ./images --skip-existing   resume: send only what is missing
  dtvi assets upload --dataset DATASET ./images --dry-run         what would be sent and replaced
  dtvi --json assets upload --dataset DATASET ./images > report.json

Asset ids: after the upload the dataset is listed (500 assets per request) to give each
uploaded file its asset id; before it, a non-empty dataset is listed too, to name the
files that replace an asset of the same name (with --skip-existing that listing is the
one the comparison makes).";

const DOWNLOAD_EXAMPLES: &str = "\
Examples:
  dtvi assets download --dataset DATASET --to ./downloads
  dtvi assets download --dataset DATASET --to ./downloads --asset ASSET --asset ASSET2
  dtvi assets download --dataset DATASET --to ./downloads --overwrite";

const LIST_EXAMPLES: &str = "\
Examples:
  dtvi assets list --dataset DATASET
  dtvi assets list --dataset DATASET --all --filter 'metadata.width >= 1000'
  dtvi --json assets list --dataset DATASET --all | jq -r '.[].asset_id'";

/// Paging options shared by the list commands.
#[derive(Debug, Args)]
pub struct PageArgs {
    /// Items per request (1–1000).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub page_size: u32,
    /// Fetch and print every page, streaming them (without it: one page, and a hint with
    /// the cursor of the next).
    #[arg(long)]
    pub all: bool,
    /// Start at this page token (printed by a previous listing).
    #[arg(long, value_name = "TOKEN")]
    pub cursor: Option<String>,
}

/// `dtvi datasets ...`
#[derive(Debug, Subcommand)]
pub enum DatasetsCommand {
    /// List the organization's datasets.
    List {
        /// Paging.
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one dataset.
    Get {
        /// The dataset id (as `datasets list` shows it, or in the `<org>_<id>` form).
        id: String,
    },
    /// Create a dataset and print it.
    Create {
        /// Its name.
        name: String,
        /// A description.
        #[arg(long)]
        description: Option<String>,
        /// What its annotations describe.
        #[arg(long = "type", value_enum, default_value_t = DatasetTypeArg::PhraseGrounding)]
        dataset_type: DatasetTypeArg,
    },
    /// Download a dataset with its labels: export, wait, download, unpack.
    Export(crate::export::ExportArgs),
    /// Change a dataset's name, description or attributes.
    Update(crate::curation::UpdateArgs),
    /// Delete a dataset (with everything in it). Asks first on a terminal.
    Delete {
        /// The dataset id (as `datasets list` shows it, or in the `<org>_<id>` form).
        id: String,
        /// Do not ask for confirmation (needed when stdin is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
        /// Wait until the deletion is complete.
        #[arg(long)]
        wait: bool,
        /// How long --wait waits, in seconds.
        #[arg(long, default_value_t = 600, value_name = "SECS", requires = "wait")]
        wait_timeout: u64,
    },
}

/// A dataset type.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DatasetTypeArg {
    /// Phrase grounding.
    PhraseGrounding,
    /// Visual question answering.
    Vqa,
    /// Free-form.
    Freeform,
}

/// `dtvi assets ...`
#[derive(Debug, Subcommand)]
pub enum AssetsCommand {
    /// Upload files and folders (recursively) to a dataset.
    #[command(after_help = UPLOAD_EXAMPLES)]
    Upload(UploadArgs),
    /// Delete every asset matching a filter or query (--all for every asset).
    DeleteMany(crate::curation::DeleteManyArgs),
    /// List a dataset's assets.
    #[command(after_help = LIST_EXAMPLES)]
    List(ListAssetsArgs),
    /// Count a dataset's assets (those matching the filters, if given).
    Count {
        /// The dataset id (as `datasets list` shows it, or in the `<org>_<id>` form).
        #[arg(long)]
        dataset: String,
        /// Filter expression, e.g. 'metadata.width >= 1000'.
        #[arg(long, value_name = "EXPR")]
        filter: Option<String>,
        /// Custom metadata query, e.g. 'quality == "high"'.
        #[arg(long, value_name = "Q")]
        metadata_query: Option<String>,
    },
    /// Show one asset; with --url, print only its signed download URL.
    Get {
        /// The dataset id (as `datasets list` shows it, or in the `<org>_<id>` form).
        #[arg(long)]
        dataset: String,
        /// The asset id.
        asset_id: String,
        /// Print the signed download URL (a credential: anyone holding it can download
        /// the file until it expires). Alone on stdout, or unredacted with --json.
        #[arg(long)]
        url: bool,
    },
    /// Download a dataset's assets (all, or those given with --asset) into a folder.
    ///
    /// Files go to DIR/DATASET/.vi-partial/ first and are renamed when complete; files already present
    /// and complete are skipped, and an interrupted download resumes next time.
    #[command(after_help = DOWNLOAD_EXAMPLES)]
    Download(DownloadArgs),
    /// Delete an asset.
    Delete {
        /// The dataset id (as `datasets list` shows it, or in the `<org>_<id>` form).
        #[arg(long)]
        dataset: String,
        /// The asset id.
        asset_id: String,
    },
    /// Rename an asset.
    Rename {
        /// The dataset id (as `datasets list` shows it, or in the `<org>_<id>` form).
        #[arg(long)]
        dataset: String,
        /// The asset id.
        asset_id: String,
        /// Its new filename.
        new_name: String,
    },
}

/// `dtvi assets upload`
#[derive(Debug, Args)]
pub struct UploadArgs {
    /// The dataset id (as `datasets list` shows it, or in the `<org>_<id>` form).
    #[arg(long)]
    pub dataset: String,
    /// Files and folders to upload (folders recursively).
    #[arg(required_unless_present = "files_from", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Return once the files are sent, without waiting for the service to take them in
    /// (they are then reported as processing, exit code 4).
    #[arg(long)]
    pub no_wait: bool,
    /// Stop waiting for the service after this many seconds.
    #[arg(long, value_name = "SECS", conflicts_with = "no_wait")]
    pub wait_timeout: Option<u64>,
    /// Files transferred at once, fixed (default: start at twice the cores, 8–32, and
    /// double while that moves files faster, up to --max-concurrency).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub concurrency: Option<u64>,
    /// The most files transferred at once when the number adapts (default 128).
    #[arg(long, value_name = "N", conflicts_with = "concurrency", value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub max_concurrency: Option<u64>,
    /// Whether one failed file stops the rest of its session.
    #[arg(long, value_enum, default_value_t = FailureModeArg::FailAfterOne)]
    pub failure_mode: FailureModeArg,
    /// What happens to annotations of an asset replaced by a file of the same name.
    #[arg(long, value_enum, default_value_t = OverwriteModeArg::RemoveLinked)]
    pub overwrite_mode: OverwriteModeArg,
    /// Files per ingestion session (1–5000).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=5000))]
    pub batch_size: Option<u64>,
    /// List the dataset first and leave out files it already holds (same name, size and
    /// CRC-32C; by size when the service gives no CRC-32C). Run an interrupted upload again
    /// with this flag to send only what is missing. A file whose name is taken by other
    /// content is sent and replaces that asset (see --overwrite-mode).
    #[arg(long)]
    pub skip_existing: bool,
    /// Print what would be sent and what skipped, then stop without sending anything (no
    /// ingestion session is created). With --skip-existing, the dataset is compared too.
    #[arg(long)]
    pub dry_run: bool,
    /// Splitting, selecting, pacing and recording (shared with downloads).
    #[command(flatten)]
    pub job: JobArgs,
}

/// How failures end a session.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FailureModeArg {
    /// The first failed file stops the session's remaining files.
    FailAfterOne,
    /// Every file is processed, whatever fails.
    FailAfterAll,
}

/// What overwriting an asset does to its linked resources.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OverwriteModeArg {
    /// Remove annotations and metadata linked to the replaced asset.
    RemoveLinked,
    /// Keep them.
    KeepLinked,
}

/// `dtvi assets list`
#[derive(Debug, Args)]
pub struct ListAssetsArgs {
    /// The dataset id (as `datasets list` shows it, or in the `<org>_<id>` form).
    #[arg(long)]
    pub dataset: String,
    /// Paging.
    #[command(flatten)]
    pub page: PageArgs,
    /// Filter expression, e.g. 'metadata.width >= 1000'.
    #[arg(long, value_name = "EXPR")]
    pub filter: Option<String>,
    /// Sort order.
    #[arg(long, value_enum)]
    pub sort: Option<SortArg>,
    /// Sort largest first.
    #[arg(long)]
    pub desc: bool,
    /// Custom metadata query, e.g. 'quality == "high"'.
    #[arg(long, value_name = "Q")]
    pub metadata_query: Option<String>,
}

/// What to sort assets by.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SortArg {
    /// Filename.
    Filename,
    /// File size.
    Size,
    /// Asset id.
    AssetId,
    /// When the contents last changed.
    LastModified,
    /// The service's default order.
    Default,
}

/// `dtvi assets download`
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// The dataset id (as `datasets list` shows it, or in the `<org>_<id>` form).
    #[arg(long)]
    pub dataset: String,
    /// The folder to download into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,
    /// Download only this asset (repeat for several).
    #[arg(long = "asset", value_name = "ID")]
    pub assets: Vec<String>,
    /// Download again files that are already present.
    #[arg(long)]
    pub overwrite: bool,
    /// Files downloaded at once, fixed (default: start at twice the cores, 8–64, and
    /// double while that moves files faster, up to --max-concurrency).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub concurrency: Option<u64>,
    /// The most files downloaded at once when the number adapts (default 128).
    #[arg(long, value_name = "N", conflicts_with = "concurrency", value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub max_concurrency: Option<u64>,
    /// Splitting, selecting, pacing and recording (shared with uploads).
    #[command(flatten)]
    pub job: JobArgs,
}

/// The options of `assets upload` and `assets download` for large jobs: shards, file
/// lists, patterns, a bandwidth limit, and machine-readable events and results.
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "Large jobs")]
pub struct JobArgs {
    /// Take only shard K of N (0-based, e.g. 0/4): a file belongs to the shard its name
    /// hashes to, so N machines running the same command with K = 0..N-1 split the job.
    /// `auto` reads the job scheduler: SLURM_ARRAY_TASK_ID (Slurm job arrays) or
    /// JOB_COMPLETION_INDEX with --shard-count or VI_SHARD_COUNT (Kubernetes Indexed Jobs).
    #[arg(long, value_name = "K/N|auto")]
    pub shard: Option<String>,
    /// The number of shards for --shard auto (the Job's completions on Kubernetes).
    #[arg(long, value_name = "N", requires = "shard", value_parser = clap::value_parser!(u32).range(1..))]
    pub shard_count: Option<u32>,
    /// Read the paths to upload (downloads: the asset filenames to take) from FILE, one per
    /// line; `-` reads standard input.
    #[arg(long, value_name = "FILE")]
    pub files_from: Option<PathBuf>,
    /// The --files-from list is NUL-separated (find -print0).
    #[arg(long, requires = "files_from")]
    pub null: bool,
    /// Take only files matching GLOB (repeatable; `**` crosses folders). Without `/` it
    /// matches the file name, with `/` the path relative to the folder given; downloads
    /// match the asset filename.
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    /// Leave out files matching GLOB (repeatable; wins over --include).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// At most RATE bytes per second over all transfers, e.g. 10M or 512K (powers of
    /// 1024).
    #[arg(long, value_name = "RATE")]
    pub bwlimit: Option<String>,
    /// Write one JSON object per line for each progress event to FILE (`-`: standard
    /// error), as they happen.
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// Write one JSON object per line for each input file's outcome to FILE as soon as it
    /// is known (the lines survive a kill).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

/// `dtvi emulator`
#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Interface to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to bind (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Directory for persistent state and blobs (default: a temporary directory).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Append one JSON line per request (its shape, no secrets) to this file.
    #[arg(long, value_name = "PATH")]
    pub record_to: Option<PathBuf>,
    /// Origin to put in signed URLs, when clients reach the emulator under another name.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Lifetime of signed upload and download URLs, in seconds.
    #[arg(long, default_value_t = 3600, value_name = "SECS")]
    pub signed_url_ttl_secs: u64,
    /// Idle seconds after which never-uploaded files of a session fail with ETIMEOUT.
    #[arg(long, default_value_t = 600, value_name = "SECS")]
    pub missing_file_timeout_secs: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn debug_never_shows_the_secret_key() {
        use clap::Parser;
        let key = format!("dtvi_{}", "k".repeat(98));
        let cli = Cli::try_parse_from(["dtvi", "--secret-key", &key, "datasets", "list"]).unwrap();
        let shown = format!("{cli:?}");
        assert!(!shown.contains(&key[5..21]), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
    }
}
