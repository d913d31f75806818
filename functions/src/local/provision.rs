//! `users-local provision FILE`: applies a JSON-lines file of provisioning commands (one
//! command per line, see `shared::provision`) against the configured store, in file order, and
//! writes one JSON result line per command. This doubles as bulk import. A command that
//! already took effect is reported `already_done` (a create of an existing, identical user; a
//! delete of a missing one); see `shared::provision` for what applying a command twice does.
//!
//! Commands run one after another: a file may create a user and then update it, and running
//! them concurrently would reorder those.

use std::io::{BufRead, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use shared::App;
use shared::error::ApiError;
use shared::provision::{self, Command, Outcome};

/// How a run went.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub applied: usize,
    pub already_done: usize,
    pub failed: usize,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} commands: {} applied, {} already done, {} failed",
            self.applied + self.already_done + self.failed,
            self.applied,
            self.already_done,
            self.failed
        )
    }
}

/// Applies every non-blank line of `input`, writing a result line for each to `out`. A
/// progress bar is drawn on stderr when `show_progress` (a terminal) and `total` is known.
pub async fn provision_lines(
    app: &App,
    input: impl BufRead,
    total: Option<u64>,
    show_progress: bool,
    mut out: impl Write,
) -> std::io::Result<Summary> {
    let bar = progress_bar(total, show_progress);
    let mut summary = Summary::default();
    for (index, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let result = run_line(app, &line).await;
        match &result.outcome {
            Ok(Outcome::Applied) => summary.applied += 1,
            Ok(Outcome::AlreadyDone) => summary.already_done += 1,
            Err(_) => summary.failed += 1,
        }
        writeln!(out, "{}", result.to_json(index + 1))?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(summary)
}

/// One line's result, with what could be read of its command.
struct LineResult {
    action: Option<&'static str>,
    domain_id: Option<String>,
    user_id: Option<String>,
    outcome: Result<Outcome, ApiError>,
}

async fn run_line(app: &App, line: &str) -> LineResult {
    let command = match Command::from_json(line) {
        Ok(command) => command,
        Err(error) => {
            return LineResult {
                action: None,
                domain_id: None,
                user_id: None,
                outcome: Err(error),
            };
        }
    };
    LineResult {
        action: Some(command.action.name()),
        domain_id: Some(command.domain_id.as_str().to_string()),
        user_id: command.user_id().map(str::to_string),
        outcome: provision::apply(app, &command).await,
    }
}

impl LineResult {
    fn to_json(&self, line: usize) -> Value {
        let mut out = json!({
            "line": line,
            "action": self.action,
            "domain_id": self.domain_id,
            "user_id": self.user_id,
        });
        match &self.outcome {
            Ok(Outcome::Applied) => out["result"] = "applied".into(),
            Ok(Outcome::AlreadyDone) => out["result"] = "already_done".into(),
            Err(e) => {
                out["result"] = "failed".into();
                // The API's own error body: {"code", "message"}.
                out["error"] = e.body()["detail"].take();
            }
        }
        out
    }
}

fn progress_bar(total: Option<u64>, show: bool) -> ProgressBar {
    let Some(total) = total.filter(|_| show) else {
        return ProgressBar::hidden();
    };
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} commands  {per_sec}  eta {eta}") {
        bar.set_style(style);
    }
    bar
}
