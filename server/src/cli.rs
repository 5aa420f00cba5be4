//! The command line of DESIGN.md section 8. Results go to stdout and
//! nothing else does; logs and errors go to stderr.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use std::io::Write;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

use crate::domain::import_mapping::ImportField;
use crate::domain::outbound_target::TargetPolicy;
use crate::domain::{PhoneRegion, Role};
use crate::import::ReadLimits;
use crate::import::jobs::JobsConfig;
use crate::propagation::email::EmailSender;
use crate::propagation::notifications::DispatcherConfig;
use crate::propagation::outbox::OutboxConfig;
use crate::propagation::sms::SmsSender;
use crate::secret_key::{self, KeySource};
use crate::store::secret_box::SecretKey;
use crate::store::{self, Store, StoreError};
use crate::{AppState, Settings, graphql, http, import, propagation};

#[derive(Parser)]
#[command(
    name = "contacts-server",
    version,
    about = "The contacts GraphQL server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct DatabaseArgs {
    /// sqlite://FILE?mode=rwc or postgres://USER@HOST/DB
    #[arg(long, env = "CONTACTS_DATABASE_URL", default_value = store::DEFAULT_DATABASE_URL)]
    database_url: String,
}

/// The key integration secrets are sealed with comes from the
/// CONTACTS_SECRET_KEY environment variable (base64 of 32 bytes), or else
/// from this file, made with mode 0600 on the first start.
#[derive(Args, Clone)]
struct SecretKeyArgs {
    /// The key file [default: beside a SQLite database as FILE.key, else
    /// ./contacts.key]
    #[arg(long, env = "CONTACTS_SECRET_KEY_FILE")]
    secret_key_file: Option<PathBuf>,
}

impl SecretKeyArgs {
    fn load(&self, database: &DatabaseArgs) -> Result<(SecretKey, KeySource), CliError> {
        let file = self
            .secret_key_file
            .clone()
            .unwrap_or_else(|| secret_key::default_path(&database.database_url));
        secret_key::load(&file).map_err(CliError::Config)
    }
}

#[derive(Args, Clone)]
struct TokenLimitArgs {
    /// Tokens one user may hold that are neither revoked nor expired; past
    /// it, issuing one is refused until one is revoked.
    #[arg(long, env = "CONTACTS_MAX_TOKENS_PER_USER",
          default_value_t = Settings::default().max_tokens_per_user,
          value_parser = clap::value_parser!(u64).range(1..))]
    max_tokens_per_user: u64,
}

#[derive(Args, Clone)]
struct DeliveryArgs {
    /// SMTP relay for email notifications: smtp://host:port.
    #[arg(long, env = "CONTACTS_SMTP_URL")]
    smtp_url: Option<String>,
    /// Sender of email notifications.
    #[arg(
        long,
        env = "CONTACTS_MAIL_FROM",
        default_value = "Contacts <contacts@localhost>"
    )]
    mail_from: String,
    /// HTTP endpoint SMS notifications are POSTed to.
    #[arg(long, env = "CONTACTS_SMS_GATEWAY_URL")]
    sms_gateway_url: Option<String>,
    /// When reminders go out before a meeting, e.g. 24h,1h (units d h m s).
    #[arg(long, env = "CONTACTS_REMINDER_OFFSETS", default_value = "24h,1h",
          value_parser = parse_offsets)]
    reminder_offsets: Offsets,
    /// How often an idle dispatcher looks for due notifications and deliveries.
    #[arg(long, env = "CONTACTS_DISPATCH_INTERVAL_MS", default_value_t = 1000)]
    dispatch_interval_ms: u64,
    /// How long a claimed delivery is this process's before another may take
    /// it over (after a crash, say).
    #[arg(long, env = "CONTACTS_DELIVERY_LEASE_SECS", default_value_t = 120)]
    delivery_lease_secs: u64,
    /// How long an import job is this process's without a committed batch
    /// before another process may take it over from its last checkpoint.
    #[arg(long, env = "CONTACTS_IMPORT_LEASE_SECS", default_value_t = 60)]
    import_lease_secs: u64,
    /// Let webhooks, calendars and CRMs point at private, loopback and
    /// other non-public addresses, and at those over plain http (local
    /// relays, test stand-ins). Off: https to public addresses only.
    #[arg(long, env = "CONTACTS_ALLOW_PRIVATE_TARGETS")]
    allow_private_targets: bool,
}

/// What a client may take of the server: every limit of DESIGN.md section
/// 12 that is not the import's, with its default.
#[derive(Args, Clone)]
struct LimitArgs {
    /// Seconds a request's header may take to arrive (also how long an idle
    /// keep-alive connection stays open).
    #[arg(long, env = "CONTACTS_HEADER_TIMEOUT_SECS", default_value = "10", value_parser = parse_seconds)]
    header_timeout_secs: Duration,
    /// Longest pause, in seconds, between two pieces of a request's body.
    #[arg(long, env = "CONTACTS_BODY_TIMEOUT_SECS", default_value = "10", value_parser = parse_seconds)]
    body_timeout_secs: Duration,
    /// Seconds a request may run once its body has arrived.
    #[arg(long, env = "CONTACTS_REQUEST_TIMEOUT_SECS", default_value = "30", value_parser = parse_seconds)]
    request_timeout_secs: Duration,
    /// PostgreSQL: seconds after which any one statement is cancelled.
    #[arg(long, env = "CONTACTS_STATEMENT_TIMEOUT_SECS", default_value = "30", value_parser = parse_seconds)]
    statement_timeout_secs: Duration,
    /// Open connections at once; more wait to be accepted.
    #[arg(long, env = "CONTACTS_MAX_CONNECTIONS", default_value_t = 1024)]
    max_connections: usize,
    /// Open connections from one client address (IPv6: one /64); more are
    /// closed at once.
    #[arg(
        long,
        env = "CONTACTS_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 256
    )]
    max_connections_per_address: usize,
    /// Requests a minute per token (per client address without a known
    /// token); 0 turns rate limiting off.
    #[arg(long, env = "CONTACTS_RATE_LIMIT", default_value_t = 1200)]
    rate_limit: u32,
    /// Bytes of a request body (of a multipart request's parts but the file).
    #[arg(long, env = "CONTACTS_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    max_body_bytes: usize,
    /// Operations in one batched request.
    #[arg(long, env = "CONTACTS_MAX_BATCH_SIZE", default_value_t = 10)]
    max_batch_size: usize,
    /// Fields nested in fields in one query (introspection aside).
    #[arg(long, env = "CONTACTS_MAX_QUERY_DEPTH", default_value_t = 12)]
    max_query_depth: u32,
    /// Cost of one operation: a field 1, a page's items each what is asked
    /// of them, a count or a search 500.
    #[arg(long, env = "CONTACTS_MAX_QUERY_COST", default_value_t = 5000)]
    max_query_cost: u64,
    /// Fields of one document once its fragments are spread.
    #[arg(long, env = "CONTACTS_MAX_QUERY_FIELDS", default_value_t = 5000)]
    max_query_fields: u64,
    /// Fragment definitions in one document.
    #[arg(long, env = "CONTACTS_MAX_QUERY_FRAGMENTS", default_value_t = 100)]
    max_query_fragments: usize,
    /// Fragment spreads written in one document.
    #[arg(long, env = "CONTACTS_MAX_QUERY_SPREADS", default_value_t = 500)]
    max_query_spreads: usize,
}

impl LimitArgs {
    fn http(&self) -> http::Limits {
        http::Limits {
            connections: http::ConnectionLimits {
                header_timeout: self.header_timeout_secs,
                max_connections: self.max_connections,
                max_per_address: self.max_connections_per_address,
            },
            body_timeout: self.body_timeout_secs,
            request_timeout: self.request_timeout_secs,
            rate_limit_per_minute: self.rate_limit,
        }
    }

    fn query(&self) -> graphql::cost::Limits {
        graphql::cost::Limits {
            max_depth: self.max_query_depth,
            max_cost: self.max_query_cost,
            max_fields: self.max_query_fields,
            max_fragments: self.max_query_fragments,
            max_spreads: self.max_query_spreads,
        }
    }
}

/// Seconds, fractions allowed ("0.5"), more than zero.
fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{text:?} must be more than 0 seconds"))
}

/// What an imported CSV file may hold, read by `serve` (uploads) and
/// `import` alike. A header past these is refused before anything is
/// written; a row past the row cap stops the import at its line.
#[derive(Args, Clone, Copy)]
struct ImportLimitArgs {
    /// The most characters one header cell of an imported file may hold.
    #[arg(long, env = "CONTACTS_IMPORT_MAX_HEADER_CHARS",
          default_value_t = ReadLimits::default().header_cell_chars as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    import_max_header_chars: u64,
    /// The most columns an imported file may have.
    #[arg(long, env = "CONTACTS_IMPORT_MAX_COLUMNS",
          default_value_t = ReadLimits::default().columns as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    import_max_columns: u64,
    /// The most bytes one row (the header too) of an imported file may hold.
    #[arg(long, env = "CONTACTS_IMPORT_MAX_ROW_BYTES",
          default_value_t = ReadLimits::default().row_bytes as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    import_max_row_bytes: u64,
}

impl ImportLimitArgs {
    fn limits(self) -> ReadLimits {
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        ReadLimits {
            header_cell_chars: size(self.import_max_header_chars),
            columns: size(self.import_max_columns),
            row_bytes: size(self.import_max_row_bytes),
        }
    }
}

#[derive(Clone)]
struct Offsets(Vec<Duration>);

fn parse_mapping(text: &str) -> Result<(String, Option<ImportField>), String> {
    crate::domain::import_mapping::parse_mapping(text)
}

fn parse_offsets(text: &str) -> Result<Offsets, String> {
    crate::domain::activity::parse_offsets(text).map(Offsets)
}

// Parsed once at startup: the size of the serve variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Apply migrations and serve GraphQL (GraphiQL at /graphql).
    Serve {
        #[command(flatten)]
        database: DatabaseArgs,
        #[arg(long, env = "CONTACTS_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// ISO region for phone numbers written without a country code.
        #[arg(long, env = "CONTACTS_DEFAULT_REGION", default_value = "US")]
        default_region: PhoneRegion,
        /// The largest CSV file importContacts takes, in bytes.
        #[arg(long, env = "CONTACTS_MAX_UPLOAD_BYTES", default_value_t = 512 * 1024 * 1024)]
        max_upload_bytes: usize,
        #[command(flatten)]
        import_limits: ImportLimitArgs,
        /// The most failed rows an import job keeps for its report; the
        /// rest are counted (`errorsOmitted`).
        #[arg(
            long,
            env = "CONTACTS_IMPORT_MAX_STORED_ERRORS",
            default_value_t = 10_000
        )]
        import_max_stored_errors: u64,
        /// The most import jobs one user may have queued or running.
        #[arg(long, env = "CONTACTS_IMPORT_MAX_QUEUED_JOBS",
              default_value_t = Settings::default().max_queued_imports,
              value_parser = clap::value_parser!(u64).range(1..))]
        import_max_queued_jobs: u64,
        /// A contact search counts its matches up to this many; past it
        /// `totalCount` is this number and `totalCountCapped` is true.
        #[arg(long, env = "CONTACTS_SEARCH_COUNT_CAP",
              default_value_t = Settings::default().search_count_cap,
              value_parser = clap::value_parser!(u64).range(1..))]
        search_count_cap: u64,
        /// The longest contact search text, in characters (VALIDATION on
        /// `search` past it): a search's cost grows with its text.
        #[arg(long, env = "CONTACTS_SEARCH_MAX_CHARS",
              default_value_t = Settings::default().search_max_chars,
              value_parser = clap::value_parser!(u64).range(1..=10_000))]
        search_max_chars: u64,
        #[command(flatten)]
        tokens: TokenLimitArgs,
        #[command(flatten)]
        delivery: DeliveryArgs,
        #[command(flatten)]
        limits: LimitArgs,
        #[command(flatten)]
        secret_key: SecretKeyArgs,
    },
    /// Manage the key integration secrets are sealed with.
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
    },
    /// Apply pending migrations.
    Migrate {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Manage teams.
    Team {
        #[command(subcommand)]
        command: TeamCommand,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Import contacts from a CSV file as a user; prints
    /// "created N, updated N, unchanged N, failed N" (failed rows on stderr).
    Import {
        file: PathBuf,
        /// The user the import acts as (their permissions apply).
        #[arg(long = "as")]
        as_user: String,
        /// Report what would happen and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// COLUMN=FIELD over the header aliases (FIELD as in ContactInput:
        /// email, mobilePhone, firstName, ...); COLUMN= ignores a column.
        #[arg(long = "map", value_name = "COLUMN=FIELD", value_parser = parse_mapping)]
        mapping: Vec<(String, Option<ImportField>)>,
        #[arg(long, env = "CONTACTS_DEFAULT_REGION", default_value = "US")]
        default_region: PhoneRegion,
        #[command(flatten)]
        import_limits: ImportLimitArgs,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Print the GraphQL schema (what schema.graphql holds).
    Schema,
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// Seal every integration secret under a new key: one taken from
    /// CONTACTS_NEW_SECRET_KEY, or (for a key file) a new one written in
    /// its place. Restart the servers afterwards: they hold the old key.
    Rotate {
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        secret_key: SecretKeyArgs,
    },
}

#[derive(Subcommand)]
enum TeamCommand {
    /// Create a team.
    Create {
        name: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user and print its API token, nothing else.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        role: Role,
        /// Name of a team the user joins.
        #[arg(long)]
        team: Option<String>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Change a user, as `updateUser` does; prints the user's name.
    Update {
        /// The user's name now.
        name: String,
        #[arg(long)]
        rename: Option<String>,
        #[arg(long)]
        role: Option<Role>,
        /// The user's teams by name, all of them (repeat the flag);
        /// `--team ""` leaves the user in none.
        #[arg(long = "team")]
        teams: Option<Vec<String>>,
        /// false refuses the user's tokens from the next request on.
        #[arg(long)]
        active: Option<bool>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Issue a token for a user and print it, nothing else.
    Issue {
        /// The user's name.
        #[arg(long)]
        user: String,
        #[arg(long)]
        label: Option<String>,
        /// The token is refused this many days from now.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        expires_in_days: Option<u32>,
        #[command(flatten)]
        tokens: TokenLimitArgs,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Revoke a token by its id (`ApiToken.id`).
    Revoke {
        id: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Config(String),
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    use std::io::IsTerminal;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // Colour codes mean something to a terminal only; in a file or a log
    // collector they are noise around every level and field. On a terminal
    // the default stands, which honours NO_COLOR.
    let builder = if std::io::stderr().is_terminal() {
        builder
    } else {
        builder.with_ansi(false)
    };
    if std::env::var("CONTACTS_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn open(database: &DatabaseArgs) -> Result<Store, CliError> {
    let store = Store::connect(&database.database_url).await?;
    store.migrate().await?;
    Ok(store)
}

/// `secrets rotate`: the new key is kept first (a key file's `.next`),
/// then every secret is sealed again in one transaction, then the new key
/// takes the old one's place.
async fn rotate_secrets(database: &DatabaseArgs, args: &SecretKeyArgs) -> Result<(), CliError> {
    let (key, source) = args.load(database)?;
    let store = open(database).await?.with_secret_key(key);
    let new_key = match std::env::var("CONTACTS_NEW_SECRET_KEY") {
        Ok(text) => SecretKey::from_base64(&text)
            .map_err(|err| CliError::Config(format!("CONTACTS_NEW_SECRET_KEY: {err}")))?,
        Err(_) if matches!(source, KeySource::File(_)) => SecretKey::generate(),
        Err(_) => {
            return Err(CliError::Config(
                "the key comes from CONTACTS_SECRET_KEY: put the new key in \
                 CONTACTS_NEW_SECRET_KEY, rotate, then give it to the servers as \
                 CONTACTS_SECRET_KEY"
                    .to_owned(),
            ));
        }
    };
    let next = match &source {
        KeySource::File(file) => Some((
            secret_key::stage_next(file, &new_key).map_err(CliError::Config)?,
            file,
        )),
        KeySource::Env => None,
    };
    let count = match store::integrations::reseal_all(&store, &new_key).await {
        Ok(count) => count,
        Err(err) => {
            // Rolled back: the old key still opens every secret.
            if let Some((next, _)) = &next {
                let _ = std::fs::remove_file(next);
            }
            return Err(err.into());
        }
    };
    if let Some((next, file)) = next {
        secret_key::promote(&next, file).map_err(CliError::Config)?;
    }
    println!("sealed {count} integration secrets under the new key; restart the servers");
    Ok(())
}

async fn user_named(store: &Store, name: &str) -> Result<store::users::User, CliError> {
    store::users::user_by_name(store.db(), name)
        .await?
        .ok_or_else(|| CliError::Config(format!("no user is named {name:?}")))
}

async fn dispatch(command: Command) -> Result<(), CliError> {
    match command {
        Command::Serve {
            database,
            listen,
            default_region,
            max_upload_bytes,
            import_limits,
            import_max_stored_errors,
            import_max_queued_jobs,
            search_count_cap,
            search_max_chars,
            tokens,
            delivery,
            limits,
            secret_key,
        } => {
            // Migrations run without the statement timeout: building an
            // index on a large table may take longer than any request may.
            open(&database).await?.db().clone().close().await?;
            let (key, _) = secret_key.load(&database)?;
            let store =
                Store::connect_with(&database.database_url, Some(limits.statement_timeout_secs))
                    .await?
                    .with_secret_key(key);
            let sealed = store::integrations::seal_plain_secrets(&store).await?;
            if sealed > 0 {
                tracing::info!(sealed, "sealed integration secrets stored in clear");
            }
            let targets = TargetPolicy {
                allow_private: delivery.allow_private_targets,
            };
            let dispatcher = DispatcherConfig {
                email: delivery
                    .smtp_url
                    .as_deref()
                    .map(|url| EmailSender::new(url, &delivery.mail_from))
                    .transpose()
                    .map_err(CliError::Config)?,
                sms: delivery
                    .sms_gateway_url
                    .as_deref()
                    .map(SmsSender::new)
                    .transpose()
                    .map_err(CliError::Config)?,
                idle_interval: Duration::from_millis(delivery.dispatch_interval_ms),
                lease: Duration::from_secs(300),
            };
            // Cancelled at Ctrl-C or SIGTERM: the workers finish or give
            // back what they hold, and the process waits for them.
            let stop = CancellationToken::new();
            let mut workers = vec![propagation::notifications::spawn(
                store.clone(),
                dispatcher,
                stop.clone(),
            )];
            workers.push(
                propagation::outbox::spawn(
                    store.clone(),
                    OutboxConfig {
                        idle_interval: Duration::from_millis(delivery.dispatch_interval_ms),
                        lease: Duration::from_secs(delivery.delivery_lease_secs.max(1)),
                        targets,
                    },
                    stop.clone(),
                )
                .map_err(CliError::Config)?,
            );
            let state = AppState::new(
                store,
                Settings {
                    default_region,
                    max_upload_bytes,
                    import_limits: import_limits.limits(),
                    max_queued_imports: import_max_queued_jobs,
                    search_count_cap,
                    search_max_chars,
                    max_tokens_per_user: tokens.max_tokens_per_user,
                    reminder_offsets: delivery.reminder_offsets.0,
                    max_body_bytes: limits.max_body_bytes,
                    max_batch_size: limits.max_batch_size,
                    query_limits: limits.query(),
                    http: limits.http(),
                    outbound_targets: targets,
                    ..Settings::default()
                },
            );
            workers.push(import::jobs::spawn(
                state.store.clone(),
                state.jobs.clone(),
                JobsConfig {
                    idle_interval: Duration::from_millis(delivery.dispatch_interval_ms),
                    lease: Duration::from_secs(delivery.import_lease_secs.max(1)),
                    limits: import_limits.limits(),
                    max_stored_errors: import_max_stored_errors,
                },
                stop.clone(),
            ));
            let served = serve(state, listen, stop.clone()).await;
            stop.cancel();
            let stopped = futures_util::future::join_all(workers);
            if tokio::time::timeout(WORKERS_STOP, stopped).await.is_err() {
                tracing::warn!("workers still busy after {WORKERS_STOP:?}; exiting anyway");
            }
            tracing::info!("stopped");
            served
        }
        Command::Migrate { database } => {
            open(&database).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Secrets {
            command:
                SecretsCommand::Rotate {
                    database,
                    secret_key,
                },
        } => rotate_secrets(&database, &secret_key).await,
        Command::Team {
            command: TeamCommand::Create { name, database },
        } => {
            let store = open(&database).await?;
            let team = store::users::create_team(&store, &name).await?;
            println!("{}", team.name);
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Create {
                    name,
                    role,
                    team,
                    database,
                },
        } => {
            let store = open(&database).await?;
            let (_, token) =
                store::users::create_user(&store, &name, role, team.as_deref()).await?;
            println!("{token}");
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Update {
                    name,
                    rename,
                    role,
                    teams,
                    active,
                    database,
                },
        } => {
            let store = open(&database).await?;
            let user = user_named(&store, &name).await?;
            let team_ids = match teams {
                Some(names) => {
                    let mut ids = Vec::new();
                    for name in names.iter().filter(|n| !n.trim().is_empty()) {
                        let team = store::users::team_by_name(store.db(), name)
                            .await?
                            .ok_or_else(|| {
                                CliError::Config(format!("no team is named {name:?}"))
                            })?;
                        ids.push(team.id);
                    }
                    Some(ids)
                }
                None => None,
            };
            let patch = store::users::UserPatch {
                name: rename,
                role,
                team_ids,
                active,
            };
            let user = store::users::update_user(&store, user.id, patch).await?;
            println!("{}", user.name);
            Ok(())
        }
        Command::Token {
            command:
                TokenCommand::Issue {
                    user,
                    label,
                    expires_in_days,
                    tokens,
                    database,
                },
        } => {
            let store = open(&database).await?;
            let user = user_named(&store, &user).await?;
            let expires_at = expires_in_days
                .map(|days| {
                    i64::from(days)
                        .checked_mul(86_400_000_000)
                        .and_then(|span| span.checked_add(store::now_micros()))
                        .ok_or_else(|| {
                            CliError::Config("--expires-in-days is too far away".to_owned())
                        })
                })
                .transpose()?;
            let (_, token) = store::tokens::issue_for(
                &store,
                user.id,
                label.as_deref(),
                expires_at,
                tokens.max_tokens_per_user,
            )
            .await?;
            println!("{token}");
            Ok(())
        }
        Command::Token {
            command: TokenCommand::Revoke { id, database },
        } => {
            let store = open(&database).await?;
            let number = match crate::domain::global_id::decode(id.trim()) {
                Some((crate::domain::global_id::Kind::ApiToken, number)) => number,
                _ => return Err(CliError::Config(format!("{id:?} is not a token id"))),
            };
            store::tokens::revoke(&store, number).await?;
            println!("revoked");
            Ok(())
        }
        Command::Import {
            file,
            as_user,
            dry_run,
            mapping,
            default_region,
            import_limits,
            database,
        } => {
            let store = open(&database).await?;
            let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            let mut progress = ImportProgress::new(size);
            let options = import::ImportOptions {
                dry_run,
                region: default_region,
                mapping,
                limits: import_limits.limits(),
            };
            let totals = import::import_file(&store, &file, &as_user, options, &mut progress)
                .await
                .map_err(CliError::Config)?;
            progress.bar.finish_and_clear();
            println!(
                "created {}, updated {}, unchanged {}, failed {}",
                totals.created, totals.updated, totals.unchanged, totals.failed
            );
            Ok(())
        }
        Command::Schema => {
            print!("{}", graphql::sdl());
            Ok(())
        }
    }
}

/// A progress bar over the file's bytes on a terminal (hidden otherwise);
/// failed rows and ignored columns go to stderr as they are found.
struct ImportProgress {
    bar: ProgressBar,
}

impl ImportProgress {
    fn new(size: u64) -> Self {
        let bar = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
        {
            bar.set_style(style);
        }
        Self { bar }
    }

    fn report(&self, lines: &[String]) {
        if lines.is_empty() {
            return;
        }
        self.bar.suspend(|| {
            let mut stderr = std::io::stderr().lock();
            for line in lines {
                let _ = writeln!(stderr, "{line}");
            }
        });
    }
}

impl import::Observer for ImportProgress {
    fn opened(&mut self, _layout: &import::Layout, unmapped: &[String]) {
        if !unmapped.is_empty() {
            self.report(&[format!("ignored columns: {}", unmapped.join(", "))]);
        }
    }

    fn batch_applied(&mut self, summary: &crate::store::import::Summary, bytes_done: u64) {
        let lines: Vec<String> = summary
            .failed
            .iter()
            .map(|failed| {
                let column = failed.column.as_ref().map_or("-", |c| c.name.as_str());
                format!("line {}, column {column}: {}", failed.line, failed.reason)
            })
            .collect();
        self.report(&lines);
        self.bar.set_position(bytes_done);
    }
}

/// How long the workers may take, once the server stops accepting, to
/// finish a batch or give back what they hold.
const WORKERS_STOP: Duration = Duration::from_secs(30);

/// Serves until Ctrl-C or SIGTERM, which cancels `stop`; requests in
/// flight are answered first. The one stdout line is the address actually
/// bound, so `--listen 127.0.0.1:0` can be used by scripts.
pub async fn serve(
    state: AppState,
    listen: SocketAddr,
    stop: CancellationToken,
) -> Result<(), CliError> {
    let listener = TcpListener::bind(listen).await?;
    let address = listener.local_addr()?;
    println!("listening on http://{address}");
    tracing::info!(%address, "serving GraphQL at /graphql");
    let signalled = async move {
        shutdown_signal().await;
        tracing::info!("shutting down: answering requests in flight, handing work over");
        stop.cancel();
    };
    http::serve(state, listener, signalled).await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
