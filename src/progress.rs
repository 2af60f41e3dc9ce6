//! The stages of a run, timed for the manifest and the log, with a spinner
//! per stage on standard error when it is a terminal (a person watching);
//! tests, cron and systemd see nothing but the log.

use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::report::manifest::Stage;

/// A stage's name in Chinese, for the spinner.
fn label(stage: &str) -> &'static str {
    match stage {
        "read" => "读取",
        "resolve" => "关联",
        "rules" => "规则",
        "write" => "写出",
        _ => "",
    }
}

/// The stages done so far and the one running.
#[derive(Debug)]
pub struct Stages {
    done: Vec<Stage>,
    current: Option<(String, Instant, ProgressBar)>,
    show: bool,
}

impl Default for Stages {
    fn default() -> Self {
        Stages::new()
    }
}

impl Stages {
    pub fn new() -> Stages {
        Stages {
            done: Vec::new(),
            current: None,
            show: std::io::stderr().is_terminal(),
        }
    }

    /// Starts a stage (ending the running one, if any).
    pub fn start(&mut self, name: &str) {
        self.end();
        let bar = if self.show {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
                bar.set_style(style);
            }
            bar.set_message(format!("{} {name}", label(name)));
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        } else {
            ProgressBar::hidden()
        };
        self.current = Some((name.to_string(), Instant::now(), bar));
    }

    /// Ends the running stage: timed, logged, its spinner cleared.
    pub fn end(&mut self) {
        if let Some((name, started, bar)) = self.current.take() {
            bar.finish_and_clear();
            let seconds = started.elapsed().as_secs_f64();
            tracing::info!(stage = %name, seconds, "stage done");
            self.done.push(Stage { name, seconds });
        }
    }

    /// The stages ended so far, in order.
    pub fn list(&self) -> Vec<Stage> {
        self.done.clone()
    }
}
