//! The command line: raw flags parsed by clap, then turned into validated settings
//! before anything runs.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::LoadOptions;
use crate::config::loader::DEFAULT_MAX_FILE_SIZE;

/// Keep a software account (agreements, admins, members, seats, projects) in git as
/// YAML, and make the live account match it.
#[derive(Debug, Parser)]
#[command(name = "accord", version, about, propagate_version = true)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,

    /// When to use colour: `auto` uses it on a terminal unless NO_COLOR is set (or
    /// always when CLICOLOR_FORCE is); `always` and `never` win over both.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Log more on standard error: `-v` each backend call and retry, `-vv` everything
    /// (RUST_LOG, when set, says exactly what to log and wins).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Log only errors on standard error.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// How log lines are written: `text` for people, `json` (one object a line) for
    /// log collectors.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// For people.
    Text,
    /// One JSON object a line.
    Json,
}

impl Cli {
    /// The log filter these flags ask for: `RUST_LOG` when set, else warnings (`-q`:
    /// errors; `-v`: calls and retries; `-vv`: everything). `accord serve` logs each
    /// request at `info`, so it starts one step up.
    #[must_use]
    pub fn log_filter(&self) -> String {
        if let Ok(filter) = std::env::var("RUST_LOG") {
            if !filter.trim().is_empty() {
                return filter;
            }
        }
        let base = u8::from(matches!(self.command, Command::Serve(_)));
        let level = if self.quiet {
            "error"
        } else {
            match self.verbose.saturating_add(base) {
                0 => "warn",
                1 => "info",
                2 => "debug",
                _ => "trace",
            }
        };
        // Dependencies stay quiet unless asked for by name in RUST_LOG.
        format!("warn,accord={level}")
    }
}

/// accord's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a configuration against the schema and the rules R01-R10 (no backend contact).
    ///
    /// Exit codes: 0 valid, 1 invalid, 64 usage error.
    #[command(
        after_help = "Example:\n  accord validate examples/acme\n  accord validate --format json configs/ > problems.json"
    )]
    Validate(ValidateArgs),

    /// Fetch the live account, diff it with the configuration and print the minimal plan.
    ///
    /// Exit codes: 0 no changes (or changes without --detailed-exitcode), 2 changes with
    /// --detailed-exitcode, 3 refused by a safety rule (R11-R13), 1 any other error, 64
    /// usage error.
    #[command(
        after_help = "Examples:\n  accord plan examples/acme\n  accord plan --format markdown --detailed-exitcode config/ > plan.md\n  accord plan --out plan.json config/   # review now, `accord apply --plan plan.json` later\n  accord plan --target member:dana@acme.example config/   # only what concerns Dana\n  accord plan --accounts --backend 'sqlite:stores/{account}.db' accounts/   # every account of accounts/"
    )]
    Plan(PlanArgs),

    /// Carry out the plan: make the live account match the configuration.
    ///
    /// Takes the account's lock, plans afresh (or checks a plan saved with `plan --out`),
    /// runs the same safety checks as `plan`, asks for confirmation on a terminal, then
    /// applies the changes in batches, verifies the account converged, and writes a run
    /// journal. Exit codes: 0 converged, 3 refused by a safety rule (R11-R13; nothing was
    /// changed), 1 any other error (including changes that failed), 64 usage error.
    #[command(
        after_help = "Examples:\n  accord apply config/                        # shows the plan, asks, applies\n  accord apply --auto-approve config/         # CI, after review\n  accord apply --plan plan.json config/       # exactly the plan that was reviewed\n\nRun journals (one JSON object a line per operation outcome) go to .accord/runs/ under\nthe current directory unless --runs-dir says otherwise. After an interrupted apply, run\n`accord plan` and `accord apply` again: nothing is done twice."
    )]
    Apply(ApplyArgs),

    /// Write the backend's current state as configuration files.
    ///
    /// `plan` against the exported files reports no change. Existing files are never
    /// overwritten without --force.
    #[command(
        after_help = "Examples:\n  accord export --out config/\n  accord export --backend sqlite:other.db > account.yaml"
    )]
    Export(ExportArgs),

    /// List the teams the backend holds, with each pool's seats used and total, dates
    /// and whether it is current.
    ///
    /// On the vendor these are the teams the login (`accord login`) administers: their
    /// ids are what the configuration's `teams[].id` names. Exit codes: 0 listed, 1 any
    /// error, 64 usage error.
    #[command(
        after_help = "Examples:\n  accord teams --backend 'autodesk://?region=US'\n  accord teams --backend 'autodesk://?region=US' --format json > teams.json"
    )]
    Teams(TeamsArgs),

    /// Print the JSON Schema of the configuration files.
    #[command(after_help = "Example:\n  accord schema > schemas/accord.schema.json")]
    Schema,

    /// Run the account service: the live account over HTTP (REST + JSON), on SQLite.
    ///
    /// Other accords use it with `--backend http://HOST:PORT` and a token in ACCORD_TOKEN.
    /// Prints `listening on http://HOST:PORT` once bound; stops on SIGTERM or Ctrl-C after
    /// finishing the requests in progress. Logs one line per request on standard error
    /// (RUST_LOG sets the level; default `info`).
    #[command(
        after_help = "Examples:\n  accord serve --db /var/lib/accord/state.db --listen 0.0.0.0:8080 --tokens /etc/accord/tokens\n  accord serve --listen 127.0.0.1:0 --tokens tokens.txt   # any free port (tests)\n\nThe tokens file has one token a line, `SCOPE TOKEN [NAME]`, SCOPE being `read` or\n`write`; `#` starts a comment. NAME is what the audit log (GET /v1/audit) records.\nThe API is described in schemas/openapi.yaml."
    )]
    Serve(ServeArgs),

    /// Write a small valid configuration to start from (`accord.yaml` in DIR).
    ///
    /// Its first line points editors at the JSON Schema: the repository's own when DIR
    /// is inside a checkout that has `schemas/accord.schema.json`, the published one
    /// otherwise. An existing file is never overwritten without --force.
    #[command(
        after_help = "Examples:\n  accord init config/\n  accord init --account-id acme-eu --account-name \"ACME Architects\" --admin it@acme.example config/"
    )]
    Init(InitArgs),

    /// Log in to the vendor (Autodesk) for its Team Admin API, in a browser.
    ///
    /// Runs the vendor's authorization-code flow with PKCE: listens on the loopback
    /// address, opens the browser at the vendor's sign-in page (or, with --no-browser or
    /// no display, only prints the URL to open; the URL is always printed on standard
    /// error), and keeps the refresh token it gets in accord's configuration directory,
    /// readable by you only. Sign in as a team admin (a dedicated automation admin is
    /// best). Exit codes: 0 logged in, 1 error, 64 usage error.
    #[command(
        after_help = "Examples:\n  accord login                        # opens the browser\n  accord login --no-browser           # prints the URL to open elsewhere\n  accord login --port 9000            # the app's callback URL is http://127.0.0.1:9000/callback\n\nThe app (APS_CLIENT_ID, APS_CLIENT_SECRET) must be a Traditional Web App with the Team\nAdmin API enabled and the callback URL http://127.0.0.1:8765/callback registered (with\n--port PORT: http://127.0.0.1:PORT/callback).\n\nThe login is kept in $ACCORD_CONFIG_DIR/login.json, else in the user's configuration\ndirectory (~/.config/accord/login.json on Linux). In CI, set APS_REFRESH_TOKEN instead\nand ACCORD_REFRESH_TOKEN_FILE to a file the pipeline stores back: every refresh replaces\nthe refresh token."
    )]
    Login(LoginArgs),

    /// Forget the vendor login: delete the stored refresh token (and revoke it at the vendor).
    ///
    /// Logging out when not logged in is not an error. When revoking fails the login is
    /// deleted all the same, with a warning. Exit codes: 0 logged out (or was not logged
    /// in), 1 error, 64 usage error.
    #[command(
        after_help = "Examples:\n  accord logout\n  accord logout --no-revoke   # only delete it here\n\nRevoking needs APS_CLIENT_ID and APS_CLIENT_SECRET (the app that logged in)."
    )]
    Logout(LogoutArgs),

    /// Reports on the live account: `accord report seats`.
    #[command(subcommand)]
    Report(ReportCommand),

    /// Print a shell completion script for bash, zsh or fish.
    #[command(
        after_help = "Examples:\n  accord completions bash > /etc/bash_completion.d/accord\n  accord completions zsh > \"${fpath[1]}/_accord\"\n  accord completions fish > ~/.config/fish/completions/accord.fish"
    )]
    Completions(CompletionsArgs),

    /// Turn the vendor portal's CSV exports into configuration files.
    ///
    /// Reads the classic user list (First Name, Last Name, Email), the ACC members export
    /// (Email, First Name, Last Name, Company, Role, Access Level, Status, External
    /// Subscriptions) and the usage export (Email, Product, Team, Team Name, Seat
    /// Assignment, Last Accessed); each file's kind is told from its header, column names
    /// in any case and spelling. Writes only what the --out directory does not declare
    /// already. Every unusable row is an error citing `file:line`; then nothing is
    /// written. Existing files are never overwritten without --force. Exit codes: 0
    /// written, 1 any error, 64 usage error.
    #[command(
        after_help = "Examples:\n  accord import members.csv usage.csv --out config/ --account-id acme-eu --account-name \"ACME Architects\"\n  accord import users.csv --admin alice@acme.example --account-id acme-eu > members.yaml\n  accord import members.csv --out config/   # config/ declares the account, companies and roles"
    )]
    Import(ImportArgs),

    /// Who has what: a member, a product, an agreement or a team, from the configuration
    /// and the live account, each fact with the `file:line` that declares it.
    ///
    /// Without a reachable backend (or with --offline) only the configuration is shown,
    /// and the output says so. Exit codes: 0 shown, 1 unknown name or any error, 64
    /// usage error.
    #[command(
        after_help = "Examples:\n  accord show member dana.dekker@acme.example examples/acme\n  accord show product Revit examples/acme --offline\n  accord show agreement 110001234567 config/ --format json\n  accord show team 100001 config/ --backend sqlite:.accord/state.db"
    )]
    Show(ShowArgs),

    /// Take a person off the configuration in one step, editing its files in place.
    ///
    /// Takes them off every list (agreement seats, cloud services, support, team seats
    /// and members, project members, groups), hands the roles someone must always hold
    /// (contract manager and software coordinator of an agreement, the last account
    /// admin) to --transfer-to, or refuses, naming them, when none is given; then
    /// deactivates the member (`status: inactive`, the default: the account keeps their
    /// history) or, with --remove, takes their entry out of `members`. Only the lines
    /// concerned change: comments, order and formatting stay. The edited files are
    /// validated before anything is written; the unified diff of every file changed is
    /// printed on standard output, what changed on standard error. Exit codes: 0 done
    /// (or nothing to change), 1 any error (nothing was changed), 64 usage error.
    #[command(after_help = "Examples:
  accord offboard dana.dekker@acme.example config/ --dry-run      # the diff only
  accord offboard tom.hughes@acme.example config/ --transfer-to priya.nair@acme.example
  accord offboard dana.dekker@acme.example config/ --remove        # out of `members` too

Then review the diff, commit, and let `accord plan` show the removal and what it frees.")]
    Offboard(OffboardArgs),
}

/// `accord import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The exported CSV files (user list, members export, usage export; any mix).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Write the files into this directory (created if missing; what its other YAML
    /// files declare is not declared again) instead of printing one document.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Overwrite files that already exist in the output directory.
    #[arg(long)]
    pub force: bool,

    /// The account's id, when the output directory does not declare the account.
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,

    /// The account's display name (default: its id).
    #[arg(long, value_name = "NAME", requires = "account_id")]
    pub account_name: Option<String>,

    /// Give this imported member `account_admin` (the user list says nothing about
    /// access; R10 wants an admin). Repeatable.
    #[arg(long, value_name = "EMAIL")]
    pub admin: Vec<String>,

    /// The team (its id) the seats of a usage export without a Team column belong to.
    #[arg(long, value_name = "ID")]
    pub team: Option<String>,
}

/// What `accord show` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShowKind {
    /// Everything one person holds (NAME is the email).
    Member,
    /// Who holds a product, on which agreement or team; seats used and free.
    Product,
    /// An agreement (NAME is the contract number): roles, products, services, support.
    Agreement,
    /// A team (NAME is the vendor's team id): its pools and who holds them.
    Team,
}

/// `accord show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// What to show: `member`, `product`, `agreement` or `team`.
    #[arg(value_enum)]
    pub kind: ShowKind,

    /// The member's email, the product's name, the contract number or the team id.
    pub name: String,

    /// The configuration.
    #[command(flatten)]
    pub config: ConfigArgs,

    /// The backend.
    #[command(flatten)]
    pub backend: BackendArgs,

    /// Show the configuration only; do not contact the backend.
    #[arg(long)]
    pub offline: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
}

/// `accord offboard`.
#[derive(Debug, Args)]
pub struct OffboardArgs {
    /// The email of the person who leaves (compared case-insensitively).
    #[arg(value_name = "EMAIL")]
    pub email: String,

    /// The configuration.
    #[command(flatten)]
    pub config: ConfigArgs,

    /// The active member who takes over the person's contract-manager, coordinator
    /// and last-admin roles.
    #[arg(long, value_name = "EMAIL")]
    pub transfer_to: Option<String>,

    /// Deactivate the member: `status: inactive` (the default; the account keeps
    /// their history and the plan frees everything they held).
    #[arg(long, conflicts_with = "remove")]
    pub deactivate: bool,

    /// Take the member's entry out of `members` (the live account drops them only with
    /// `settings.prune: true`).
    #[arg(long)]
    pub remove: bool,

    /// Print the diff only; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `accord init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The directory to write `accord.yaml` into (created if missing).
    #[arg(default_value = ".")]
    pub dir: PathBuf,

    /// The account's id (it must match the backend's).
    #[arg(long, value_name = "ID", default_value = "my-firm")]
    pub account_id: String,

    /// The account's display name (also the first company's).
    #[arg(long, value_name = "NAME", default_value = "My Firm")]
    pub account_name: String,

    /// The first account admin's email (R10: an account keeps one).
    #[arg(long, value_name = "EMAIL", default_value = "admin@my-firm.example")]
    pub admin: String,

    /// Overwrite an existing `accord.yaml`.
    #[arg(long)]
    pub force: bool,
}

/// `accord login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The port to listen on for the browser's return, on 127.0.0.1. The app's callback
    /// URL in the vendor's developer portal must be `http://127.0.0.1:PORT/callback`.
    #[arg(long, value_name = "PORT", default_value_t = crate::backend::autodesk::login::DEFAULT_PORT)]
    pub port: u16,

    /// Do not open a browser: only print the URL to open (on standard error).
    #[arg(long)]
    pub no_browser: bool,

    /// How long to wait for the browser to come back (`5m`, `90s`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5m")]
    pub timeout: Duration,
}

/// `accord logout`.
#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Only delete the stored login; do not revoke its refresh token at the vendor.
    #[arg(long)]
    pub no_revoke: bool,
}

/// `accord completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

/// The shells `accord completions` writes scripts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    /// Bash (bash-completion).
    Bash,
    /// Zsh (compsys).
    Zsh,
    /// Fish.
    Fish,
}

/// Where the configuration is and how to read it.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// A configuration file, or a directory of `*.yaml` / `*.yml` files.
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// Also read the YAML files of subdirectories.
    #[arg(long, short = 'r')]
    pub recursive: bool,

    /// Refuse configuration files larger than this (bytes, or with KiB/MiB/GiB).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "64MiB")]
    pub max_file_size: u64,

    /// Read files that symbolic links point to outside the configuration directory
    /// (refused by default).
    #[arg(long)]
    pub follow_symlinks: bool,
}

impl ConfigArgs {
    /// The loader options these flags ask for.
    #[must_use]
    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            recursive: self.recursive,
            max_file_size: self.max_file_size,
            follow_symlinks: self.follow_symlinks,
        }
    }
}

/// `accord validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The configuration.
    #[command(flatten)]
    pub config: ConfigArgs,

    /// Output format: `human` for people, `json` for CI tools.
    #[arg(long, value_enum, default_value_t = DiagnosticFormat::Human)]
    pub format: DiagnosticFormat,
}

/// Which backend holds the live account.
#[derive(Debug, Args)]
pub struct BackendArgs {
    /// The backend: `sqlite:PATH` (the embedded store), `http://HOST:PORT` (the account
    /// service), `autodesk://ACCOUNT_ID?region=REGION` (the vendor: its ACC account and
    /// its teams; `acc://` is the same) or `autodesk://?region=REGION` (its teams alone).
    #[arg(long, env = "ACCORD_BACKEND", default_value = crate::backend::DEFAULT_BACKEND_URL)]
    pub backend: String,
}

/// `accord plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The configuration.
    #[command(flatten)]
    pub config: ConfigArgs,

    /// The backend.
    #[command(flatten)]
    pub backend: BackendArgs,

    /// Output format: `text` for people, `json` for tools, `markdown` for a pull-request comment.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,

    /// Also save the plan, with the backend revision and a digest of the configuration,
    /// for a later `accord apply --plan FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Exit 2 when there are changes (0 when there are none).
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// Allow at most N member removals (overrides `settings.max_removals`, R13).
    #[arg(long, value_name = "N")]
    pub max_removals: Option<u32>,

    /// Plan even when the configuration would change parts the backend does not
    /// manage (agreements, roles, access levels against `acc://`): they are listed as
    /// warnings and left as they are, instead of failing the plan.
    #[arg(long)]
    pub skip_unsupported: bool,

    /// Plan only what concerns this object (repeatable): `member:EMAIL`,
    /// `project:NAME`, `agreement:NUMBER` or `team:ID`, with what those changes need
    /// first (an invitation before a seat). The safety rules are still checked on the
    /// whole account, and the plan says it is partial.
    #[arg(long, value_name = "KIND:NAME", value_parser = parse_target)]
    pub target: Vec<crate::plan::scope::Target>,

    /// PATH is a directory of accounts: each subdirectory is one account's
    /// configuration, planned with the others in one command (at most --jobs at
    /// once), its backend named by `ACCORD_BACKEND_<NAME>` or by --backend with
    /// `{account}` in it. One combined report; the exit code is the worst account's
    /// (1 failed, then 3 refused, then 2 changes, then 0).
    #[arg(long)]
    pub accounts: bool,

    /// With --accounts: how many accounts are planned at once (accounts on one
    /// service share its call budget whatever this is).
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = parse_jobs)]
    pub jobs: usize,
}

/// `accord apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The configuration.
    #[command(flatten)]
    pub config: ConfigArgs,

    /// The backend.
    #[command(flatten)]
    pub backend: BackendArgs,

    /// Apply without asking (for CI, after the plan was reviewed). Without it, apply
    /// asks on a terminal and refuses when there is none.
    #[arg(long)]
    pub auto_approve: bool,

    /// Apply this plan, saved by `accord plan --out`, instead of planning afresh. It is
    /// refused if the account or the configuration changed since it was made.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,

    /// Allow at most N member removals (overrides `settings.max_removals`, R13).
    #[arg(long, value_name = "N")]
    pub max_removals: Option<u32>,

    /// Apply even when the configuration would change parts the backend does not
    /// manage (agreements, roles, access levels against `acc://`): they are left as
    /// they are and listed as warnings, instead of refusing the apply.
    #[arg(long)]
    pub skip_unsupported: bool,

    /// The most backend calls in flight at once.
    #[arg(long, value_name = "N", default_value_t = crate::apply::DEFAULT_PARALLELISM,
          value_parser = parse_parallelism)]
    pub parallelism: usize,

    /// How long to wait for another apply's lock before giving up (`30s`, `5m`, `0`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "60s")]
    pub lock_timeout: Duration,

    /// How long the lock outlives an apply that crashed (it is renewed while the apply
    /// runs).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30s")]
    pub lock_ttl: Duration,

    /// Send at most this many requests per second, below the backend's own limit (to
    /// leave room for other tools sharing the account's quota).
    #[arg(long, value_name = "PER_SECOND", value_parser = parse_rate)]
    pub max_rate: Option<f64>,

    /// Where run journals are written.
    #[arg(long, value_name = "DIR", default_value = crate::apply::DEFAULT_RUNS_DIR)]
    pub runs_dir: PathBuf,

    /// The final summary: `text` for people, `json` for tools (then standard output
    /// holds only the JSON summary).
    #[arg(long, value_enum, default_value_t = ApplyFormat::Text)]
    pub format: ApplyFormat,

    /// Apply only what concerns this object (repeatable): `member:EMAIL`,
    /// `project:NAME`, `agreement:NUMBER` or `team:ID`, with what those changes need
    /// first (an invitation before a seat). The safety rules are still checked on the
    /// whole account, and the plan says it is partial. With --plan, the saved plan's
    /// targets are kept (giving others is an error).
    #[arg(long, value_name = "KIND:NAME", value_parser = parse_target)]
    pub target: Vec<crate::plan::scope::Target>,

    /// PATH is a directory of accounts: each subdirectory is one account's
    /// configuration, applied with the others in one command (at most --jobs at
    /// once), its backend named by `ACCORD_BACKEND_<NAME>` or by --backend with
    /// `{account}` in it. One combined report; the exit code is the worst account's
    /// (1 failed, then 3 refused, then 2 changes, then 0).
    /// Needs --auto-approve; --plan does not go with it.
    #[arg(long, requires = "auto_approve", conflicts_with = "plan")]
    pub accounts: bool,

    /// With --accounts: how many accounts are applied at once (accounts on one
    /// service share its call budget whatever this is).
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = parse_jobs)]
    pub jobs: usize,
}

/// `accord serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The SQLite store the service serves (created on first use).
    #[arg(long, value_name = "FILE", default_value = ".accord/state.db")]
    pub db: PathBuf,

    /// The address to listen on; port 0 picks a free port (the one bound is printed).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: String,

    /// The tokens file: one `SCOPE TOKEN [NAME]` a line (SCOPE `read` or `write`).
    #[arg(long, value_name = "FILE")]
    pub tokens: PathBuf,

    /// Allow each token at most N requests per second (429 with Retry-After beyond);
    /// clients read the limit from the service and keep below it. No limit by default.
    #[arg(long, value_name = "N", value_parser = parse_rate)]
    pub rate_limit: Option<f64>,

    /// The largest request body accepted (413 beyond).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "1MiB")]
    pub max_body: u64,

    /// How long one request may run (503 beyond; a write still completes).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30s")]
    pub request_timeout: Duration,

    /// Close a connection that has not sent a request's head (its line and headers)
    /// within this time, the first request included.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "10s")]
    pub header_timeout: Duration,

    /// Close a connection on which no byte has moved either way for this long (at
    /// least --request-timeout plus 5 s, so a running request is never cut).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "60s")]
    pub idle_timeout: Duration,

    /// Serve at most N connections at once; one more is answered 503 and closed.
    #[arg(long, value_name = "N", default_value_t = crate::service::connections::DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,

    /// On SIGTERM or Ctrl-C, wait at most this long for open connections to finish
    /// their requests before closing them (writes already started still complete).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "10s")]
    pub shutdown_timeout: Duration,

    /// TESTING ONLY, off by default: make this fraction (0 to 1) of requests fail with a
    /// 500, a 503 or a dropped connection, before or after they are carried out. For
    /// proving that clients converge; never use it on a real account.
    #[arg(long, value_name = "FRACTION", value_parser = parse_fraction)]
    pub inject_faults: Option<f64>,

    /// The seed of --inject-faults, so a faulty run can be replayed.
    #[arg(
        long,
        value_name = "SEED",
        default_value_t = 1,
        requires = "inject_faults"
    )]
    pub fault_seed: u64,
}

/// How `apply` prints its summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApplyFormat {
    /// The plan, then a summary for people.
    #[value(alias = "human")]
    Text,
    /// A JSON summary (counts, problems, differences, calls, elapsed time).
    Json,
}

/// How a plan is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// Grouped by object, `+ ~ -`, with a summary.
    #[value(alias = "human")]
    Text,
    /// The versioned JSON of `schemas/plan.schema.json`.
    Json,
    /// A summary table and collapsible details, for a pull-request comment.
    Markdown,
}

/// `accord export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The backend.
    #[command(flatten)]
    pub backend: BackendArgs,

    /// Write one file per section into this directory (created if missing) instead of
    /// printing one document to standard output.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Overwrite files that already exist in the output directory.
    #[arg(long)]
    pub force: bool,

    /// What to write: `yaml` (configuration files), or one of the vendor portal's CSV
    /// exports (`users-csv`, `members-csv`, `usage-csv`), as `accord import` reads them.
    #[arg(long, value_enum, default_value_t = ExportFormat::Yaml)]
    pub format: ExportFormat,
}

/// What `accord export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// Configuration files.
    Yaml,
    /// The classic user list (First Name, Last Name, Email).
    UsersCsv,
    /// The ACC members export.
    MembersCsv,
    /// The usage export (each team seat).
    UsageCsv,
}

/// `accord teams`.
#[derive(Debug, Args)]
pub struct TeamsArgs {
    /// The backend.
    #[command(flatten)]
    pub backend: BackendArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
}

/// How a listing is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// Aligned lines for people.
    Text,
    /// Versioned JSON for tools.
    Json,
}

/// How diagnostics are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiagnosticFormat {
    /// A snippet of the offending line with a caret, the rule ID and a help line.
    #[value(alias = "text")]
    Human,
    /// Versioned JSON (`schemas/validate.schema.json`): `{version, valid, errors,
    /// warnings, diagnostics: [{code, severity, file, line, column, pointer, message,
    /// help, related}]}`.
    Json,
    /// GitHub Actions workflow commands: an annotation on each offending line.
    Github,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always (still never with NO_COLOR).
    Always,
    /// Never.
    Never,
}

impl ColorChoice {
    /// Whether to colour standard output. An explicit `--color always|never` wins
    /// (no-color.org: a flag the user typed beats the environment); with `auto`,
    /// `CLICOLOR_FORCE` (not `0`) forces colour, `NO_COLOR` turns it off, and
    /// otherwise a terminal decides.
    #[must_use]
    pub fn enabled(self) -> bool {
        let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        match self {
            Self::Always => true,
            Self::Never => false,
            Self::Auto if set("CLICOLOR_FORCE") => true,
            Self::Auto if no_color => false,
            Self::Auto => std::io::stdout().is_terminal(),
        }
    }
}

/// Parses `64MiB`, `512KiB`, `1GiB`, `1000` (bytes), with `bytesize`'s units (KiB is
/// 1024 bytes, KB 1000).
///
/// # Errors
/// A message for clap when the size is not a number with an optional unit.
pub fn parse_size(text: &str) -> Result<u64, String> {
    text.trim()
        .parse::<bytesize::ByteSize>()
        .map(|size| size.as_u64())
        .map_err(|_| format!("`{text}` is not a size such as 64MiB or 1048576"))
}

/// Parses `30s`, `5m`, `1h`, `250ms`, `1m 30s` (`humantime`'s forms); a plain number
/// is seconds (`0`, `2.5`).
///
/// # Errors
/// A message for clap when the text is not a duration.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds)
            .map_err(|_| format!("`{text}` is out of range"));
    }
    humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not a duration such as 30s, 5m or 250ms ({e})"))
}

/// Parses `--parallelism`: 1 to 64 calls in flight.
///
/// # Errors
/// A message for clap when the text is not a number from 1 to 64.
pub fn parse_parallelism(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=64).contains(&n) => Ok(n),
        _ => Err(format!("`{text}` is not a number of calls from 1 to 64")),
    }
}

/// Parses a positive rate (requests per second).
///
/// # Errors
/// A message for clap when the text is not a positive number.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "`{text}` is not a positive number of requests per second"
        )),
    }
}

/// Parses a fraction from 0 to 1 (`--inject-faults`).
///
/// # Errors
/// A message for clap when the text is not a number from 0 to 1.
pub fn parse_fraction(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err(format!(
            "`{text}` is not a fraction from 0 to 1 (such as 0.2)"
        )),
    }
}

/// The default `--max-file-size`, for documentation and tests.
pub const DEFAULT_MAX_FILE_SIZE_BYTES: u64 = DEFAULT_MAX_FILE_SIZE;

/// `accord report`: what the live account looks like.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Seat usage per agreement product and team pool: seats used and free with a bar,
    /// who holds them, reclaim candidates (inactive members, people on no project),
    /// pools ending within 30/60/90 days, time-bound grants, and, where the backend
    /// keeps history (the store, the account service), a chart of seats used over time.
    ///
    /// Reads only the backend; a configuration, when given, adds where each product
    /// and seat is declared. Exit codes: 0 written, 1 any error, 64 usage error.
    #[command(
        after_help = "Examples:\n  accord report seats --backend sqlite:.accord/state.db --format html --out seats.html\n  accord report seats config/ --format markdown > seats.md   # for a pull-request comment\n  accord report seats --format json | jq '.products[] | select(.free == 0)'"
    )]
    Seats(SeatsArgs),
}

/// `accord report seats`.
#[derive(Debug, Args)]
pub struct SeatsArgs {
    /// A configuration (file or directory), to say where each product and seat is
    /// declared; the report is of the live account either way.
    pub path: Option<PathBuf>,

    /// Also read the YAML files of the configuration's subdirectories.
    #[arg(long, short = 'r')]
    pub recursive: bool,

    /// The backend.
    #[command(flatten)]
    pub backend: BackendArgs,

    /// Output format: `markdown` for a pull-request comment, `html` for one
    /// self-contained page, `json` (versioned) for tools.
    #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
    pub format: ReportFormat,

    /// Write the report to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Overwrite the `--out` file if it exists.
    #[arg(long, requires = "out")]
    pub force: bool,
}

/// How a report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Markdown, for a pull-request comment.
    Markdown,
    /// One self-contained HTML page (inline CSS and SVG, no script).
    Html,
    /// Versioned JSON.
    Json,
}

/// `--target KIND:NAME`.
fn parse_target(text: &str) -> Result<crate::plan::scope::Target, String> {
    text.parse()
}

/// `--jobs N`: from 1 to 256 accounts at once.
fn parse_jobs(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=256).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{text}` is not a number of accounts from 1 to 256"
        )),
    }
}
