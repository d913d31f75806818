//! `users-local serve [--port N]` runs the API on 127.0.0.1; `users-local token …` prints a dev
//! token, `users-local jwks` the dev key's JWKS; `users-local create-table` sets up DynamoDB
//! (`upgrade-table` copies a table of the earlier schema into a new one; `restore-users` brings
//! the users of a point-in-time restore back into the stack's table);
//! `users-local provision FILE` applies a JSON-lines file of provisioning commands.

use std::io::Write;

use clap::{Parser, Subcommand};
use functions::local::{self, BANNER_TOKEN_TTL, LOCAL_DOMAIN, ServeOptions};
use shared::Config;
use shared::model::RoleType;

#[derive(Parser)]
#[command(
    name = "users-local",
    about = "The User API on this machine: embedded store (or DynamoDB with USERS_TABLE), mail to an outbox folder."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve every API path on 127.0.0.1.
    Serve {
        #[arg(long, env = "PORT", default_value_t = 3000)]
        port: u16,
        /// Seconds request headers, and then a request body, may take to arrive before the
        /// connection is closed.
        #[arg(long, default_value_t = ServeOptions::READ_TIMEOUT.as_secs())]
        read_timeout: u64,
    },
    /// Print an access token signed by the dev key in DATA_DIR.
    Token {
        #[arg(long)]
        domain_id: String,
        #[arg(long)]
        user_id: String,
        /// DOMAIN_ADMIN, WORKSPACE_OWNER, WORKSPACE_MEMBER or USER.
        #[arg(long, value_parser = |s: &str| RoleType::parse(s))]
        role: RoleType,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: i64,
    },
    /// Print the dev key's public JWKS, for IDENTITY_JWKS of a function run with cargo lambda.
    Jwks,
    /// Create the DynamoDB table (keys and TTL as template.yaml declares them) at the
    /// configured endpoint (AWS_ENDPOINT_URL for a local emulator), if it does not exist.
    CreateTable {
        #[arg(long, env = "USERS_TABLE")]
        table: String,
    },
    /// Copy a table made before the change index (`--from`) into a new table made as
    /// template.yaml declares it (`--to`, created if missing), stamping every user's change
    /// (docs/dynamodb.md, "Upgrading a table"). Run it before pointing the functions at `--to`.
    UpgradeTable {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
    /// Bring the users of a table restored from point-in-time recovery (`--from`) back into the
    /// stack's table (`--to`): users changed or deleted since are written back with their tokens
    /// revoked, users created since are deleted (docs/operations.md, "Backups"). Stop writes first.
    RestoreUsers {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
    /// Apply a JSON-lines file of provisioning commands (one per line; `-` for stdin) to the
    /// configured store, printing one JSON result line per command and a summary. Exits 1 if
    /// any command failed.
    Provision { file: std::path::PathBuf },
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    lambda_http::tracing::init_default_subscriber_with_writer(std::io::stderr);
    let config = Config::from_env()?;
    match Cli::parse().command {
        Command::Token {
            domain_id,
            user_id,
            role,
            ttl,
        } => {
            let key = config.dev_key()?;
            println!("{}", local::dev_token(&key, &domain_id, &user_id, role, ttl)?);
        }
        Command::Jwks => {
            println!("{}", config.dev_key()?.jwks_json());
        }
        Command::CreateTable { table } => {
            let client = shared::aws::dynamodb_client(&shared::aws::load().await);
            let created = shared::store::dynamo::schema::create_table(&client, &table).await?;
            println!("{table}: {}", if created { "created" } else { "already exists" });
        }
        Command::UpgradeTable { from, to } => {
            let client = shared::aws::dynamodb_client(&shared::aws::load().await);
            let upgrade = shared::store::dynamo::upgrade::upgrade_table(&client, &from, &to).await?;
            println!("{from} -> {to}: {upgrade}");
        }
        Command::RestoreUsers { from, to } => {
            let client = shared::aws::dynamodb_client(&shared::aws::load().await);
            let restore = shared::store::dynamo::restore::restore_users(&client, &from, &to).await?;
            println!("{from} -> {to}: {restore}");
        }
        Command::Provision { file } => {
            let (keys, _) = config.local_keys()?;
            let app = config.build(keys).await?;
            let summary = provision_file(&app, &file).await?;
            eprintln!("{summary}");
            if summary.failed > 0 {
                std::process::exit(1);
            }
        }
        Command::Serve { port, read_timeout } => {
            let (keys, dev_key) = config.local_keys()?;
            let app = config.build(keys).await?;
            let banner_token =
                local::dev_token(&dev_key, LOCAL_DOMAIN, "admin", RoleType::DomainAdmin, BANNER_TOKEN_TTL)?;
            let options = ServeOptions {
                port,
                read_timeout: std::time::Duration::from_secs(read_timeout.max(1)),
                drain_timeout: ServeOptions::DRAIN_TIMEOUT,
            };
            local::serve(app, options, |addr| print_banner(&config, addr, &banner_token)).await?;
        }
    }
    Ok(())
}

/// Applies `file` (or stdin for `-`), with a progress bar when stderr is a terminal.
async fn provision_file(app: &shared::App, file: &std::path::Path) -> std::io::Result<local::Summary> {
    use std::io::IsTerminal;
    let show_progress = std::io::stderr().is_terminal();
    let stdout = std::io::stdout().lock();
    if file.as_os_str() == "-" {
        return local::provision_lines(app, std::io::stdin().lock(), None, show_progress, stdout).await;
    }
    let text = std::fs::read_to_string(file)?;
    let total = text.lines().filter(|l| !l.trim().is_empty()).count() as u64;
    local::provision_lines(app, text.as_bytes(), Some(total), show_progress, stdout).await
}

/// Prints the start-up banner. Write errors are ignored: a closed stdout must not stop the server.
fn print_banner(config: &Config, addr: std::net::SocketAddr, token: &str) {
    let mut out = std::io::stdout().lock();
    let mut line = |text: String| {
        let _ = writeln!(out, "{text}");
    };
    line(format!(
        "users-local listening on http://{addr}  (data: {})",
        config.data_dir.display()
    ));
    line(format!(
        "Console: http://{addr}{}  (sign in as a user with a password; create the first one below)",
        functions::local::CONSOLE_PATH
    ));
    line(format!(
        "DOMAIN_ADMIN token for {LOCAL_DOMAIN}, to create the first users (valid {} h):",
        BANNER_TOKEN_TTL / 3600
    ));
    line(format!("export TOKEN={token}"));
    line("Try:".into());
    line(format!(
        "curl -s http://{addr}/identity/v2/user/create -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \\\n  -d '{{\"user_id\": \"alice\", \"auth_type\": \"LOCAL\", \"password\": \"Wonderland1\", \"permission_group\": \"DOMAIN\", \"role_id\": \"managed-domain-admin\", \"domain_id\": \"{LOCAL_DOMAIN}\"}}'"
    ));
    line(format!(
        "curl -s http://{addr}/identity/v2/user/get -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \\\n  -d '{{\"user_id\": \"alice\", \"domain_id\": \"{LOCAL_DOMAIN}\"}}'"
    ));
    line("Sign alice in (the Token API), then get a DOMAIN token from the refresh token:".into());
    line(format!(
        "curl -s http://{addr}/identity/v2/token/issue -H 'Content-Type: application/json' \\\n  -d '{{\"credentials\": {{\"user_id\": \"alice\", \"password\": \"Wonderland1\"}}, \"domain_id\": \"{LOCAL_DOMAIN}\"}}'"
    ));
    line(format!(
        "curl -s http://{addr}/identity/v2/token/grant -H 'Content-Type: application/json' \\\n  -d '{{\"grant_type\": \"REFRESH_TOKEN\", \"token\": \"<refresh_token>\", \"scope\": \"DOMAIN\", \"domain_id\": \"{LOCAL_DOMAIN}\"}}'"
    ));
    let _ = out.flush();
}
